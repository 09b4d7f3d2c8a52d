"""The WebSocket edge: every event the chat service emits has its frame, sent as before."""

from __future__ import annotations

from typing import get_args

import msgspec

from threadline.chat import events
from threadline.transport.websocket_frames import ServerFrame, encode, frame_of


def test_every_event_has_one_frame_and_every_frame_one_event() -> None:
    frames = get_args(ServerFrame)

    assert {frame.__bases__[0] for frame in frames} == set(get_args(events.Event))
    assert len(frames) == len(get_args(events.Event))


def test_a_frame_carries_its_event_s_fields_in_order_after_its_type() -> None:
    token = events.Token("c", "r", "Hel", seq=3)
    reply = events.Replied("c", "r", "Hello", "m1", stopped=True, seq=4)

    assert (
        encode(token)
        == '{"type":"token","conversation_id":"c","message_id":"r","delta":"Hel","seq":3}'
    )
    assert msgspec.json.decode(encode(reply)) == {
        "type": "message",
        "conversation_id": "c",
        "message_id": "r",
        "content": "Hello",
        "model": "m1",
        "role": "assistant",
        "stopped": True,
        "seq": 4,
    }
    assert msgspec.structs.astuple(frame_of(reply)) == msgspec.structs.astuple(reply)


def test_the_tag_an_event_crosses_processes_with_is_not_the_frame_s() -> None:
    changed = events.ConversationChanged("c", "renamed", "2026-01-01T00:00:00Z", title="T")

    assert msgspec.json.decode(msgspec.json.encode(changed))["kind"] == "ConversationChanged"
    assert msgspec.json.decode(encode(changed))["type"] == "conversation"


def test_a_paused_run_s_events_are_sent_as_their_frames_also_inside_a_history_page() -> None:
    asked = events.InterruptEvent("c", "i1", {"question": "Which city?"}, seq=2)
    approval = events.ApprovalRequired(
        "c", "t1", "delete", {"id": 1}, interrupt_id="i2", decisions=["approve", "deny"]
    )
    page = events.History("c", [], pending_interrupts=[asked, approval])

    assert msgspec.json.decode(encode(asked)) == {
        "type": "interrupt",
        "conversation_id": "c",
        "interrupt_id": "i1",
        "value": {"question": "Which city?"},
        "seq": 2,
    }
    assert msgspec.json.decode(encode(page))["pending_interrupts"] == [
        msgspec.json.decode(encode(asked)),
        msgspec.json.decode(encode(approval)),
    ]
    assert msgspec.json.decode(encode(approval))["type"] == "approval_required"
    # Across processes the page keeps its events as events.
    relayed = msgspec.json.decode(msgspec.json.encode(page), type=events.Event)
    assert relayed == page
