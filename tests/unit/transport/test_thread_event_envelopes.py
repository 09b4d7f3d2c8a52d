"""A turn's events as the thread event stream's: what a stream is sent, repeats dropped."""

from __future__ import annotations

from typing import Any

from threadline.chat.events import Accepted, Context, Event, InterruptEvent, Replied, Token
from threadline.transport.thread_events.envelopes import Envelopes

ALL = ["messages", "lifecycle", "input", "tools", "custom"]


def _turn() -> list[Event]:
    return [
        Accepted("c", "user-1"),
        Token("c", "r", "Hello", seq=1),
        Token("c", "r", " there", seq=2),
        Replied("c", "r", "Hello there", "m", seq=3),
        Context("c", 10, 100, 2, 2, summarized=False),
    ]


def _said(envelopes: list[dict[str, Any]]) -> list[str]:
    return [f"{e['method']}/{e['params']['data'].get('event', '')}" for e in envelopes]


def _render(envelopes: Envelopes, events: list[Event]) -> list[dict[str, Any]]:
    return [e for event in events for e in envelopes.render(event)]


def test_a_turn_is_a_lifecycle_around_one_streamed_message_numbered_by_its_seq() -> None:
    told = _render(Envelopes(ALL), _turn())
    assert _said(told) == [
        "lifecycle/running",
        "messages/message-start",
        "messages/content-block-start",
        "messages/content-block-delta",
        "messages/content-block-delta",
        "messages/content-block-finish",
        "messages/message-finish",
        "lifecycle/completed",
        "custom/",
    ]
    assert [e["seq"] for e in told] == [0, 1, 1, 1, 2, 3, 3, 3, 3]
    assert told[5]["params"]["data"]["content"] == {"type": "text", "text": "Hello there"}
    assert told[-1]["params"]["data"]["name"] == "context"
    assert all(e["params"]["namespace"] == [] for e in told)


def test_what_is_told_twice_is_sent_once() -> None:
    envelopes = Envelopes(ALL)
    first = _render(envelopes, _turn()[:3])
    # The resume's catch-up and the subscription both bring the same tokens.
    again = _render(envelopes, _turn()[1:3])
    rest = _render(envelopes, _turn()[3:])
    assert again == []
    assert (
        "".join(
            e["params"]["data"]["delta"]["text"] for e in first if "delta" in e["params"]["data"]
        )
        == "Hello there"
    )
    assert _said(rest)[0] == "messages/content-block-finish"


def test_a_stored_reply_is_one_whole_message_without_seq() -> None:
    told = _render(Envelopes(ALL), [Replied("c", "r", "Stored", "m")])
    assert _said(told)[:2] == ["messages/message-start", "messages/content-block-start"]
    assert told[1]["params"]["data"]["content"]["text"] == "Stored"
    assert not any("delta" in e["params"]["data"] for e in told)  # nothing appended twice
    assert all("seq" not in e for e in told)


def test_a_question_ends_a_run_but_not_when_told_at_rest() -> None:
    live = _render(Envelopes(ALL), [InterruptEvent("c", "i-1", {"q": 1}, seq=1)])
    assert _said(live) == ["input.requested/", "lifecycle/interrupted"]
    assert live[0]["params"]["data"] == {"interrupt_id": "i-1", "payload": {"q": 1}}
    at_rest = _render(Envelopes(ALL), [InterruptEvent("c", "i-1", {"q": 1})])
    assert _said(at_rest) == ["input.requested/"]


def test_a_stream_is_sent_only_its_channels_and_nothing_outside_the_root() -> None:
    lifecycle = _render(Envelopes(["lifecycle"]), _turn())
    assert _said(lifecycle) == ["lifecycle/running", "lifecycle/completed"]
    named = _render(Envelopes(["custom:context"]), _turn())
    assert _said(named) == ["custom/"]
    assert _render(Envelopes(ALL, root=False), _turn()) == []
