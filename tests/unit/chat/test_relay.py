"""The relay: a turn's events to subscribers here, and across processes as bulletins."""

from __future__ import annotations

from typing import Any, cast

import pytest

from tests.unit.chat.fakes import Listener
from threadline.chat.events import Accepted, Context, Event, Replied, Token
from threadline.chat.fanout.bulletins import (
    Bulletin,
    Changed,
    Missed,
    Present,
    Relayed,
    StopRequest,
    decode,
    encode,
)
from threadline.chat.fanout.relay import Answer, Relay, RequestHandler

pytestmark = pytest.mark.anyio


class _Notices:
    """What the relay publishes, decoded."""

    def __init__(self) -> None:
        self.sent: list[Bulletin] = []

    def publish(self, data: bytes) -> None:
        self.sent.append(decode(data))

    async def published(self, data: bytes) -> None:
        self.publish(data)


def _relay(process_id: str = "here", serve: RequestHandler | None = None) -> tuple[Relay, _Notices]:
    notices = _Notices()
    return Relay(process_id, notices=cast("Any", notices), serve=serve), notices


async def test_a_turn_s_events_are_published_only_while_the_user_has_sockets_elsewhere() -> None:
    relay, notices = _relay()
    token = Token("c1", "r1", "Hel", seq=1)
    await relay.turn_event("alice", "c1", "r1", token, [])
    alone = list(notices.sent)
    await relay.on_notice("there", encode(Present("alice", here=True)))
    await relay.turn_event("alice", "c1", "r1", token, [])
    relay.on_beat(set())  # the other process died
    await relay.turn_event("alice", "c1", "r1", token, [])

    assert alone == []
    assert notices.sent == [Relayed("alice", token, turn="r1")]


async def test_a_relayed_turn_reaches_this_process_s_subscribers_as_the_same_events() -> None:
    relay, _ = _relay()
    follower = Listener()
    relay.subscribe("c1", follower)
    series: list[Event] = [
        Accepted("c1", "m1"),
        Token("c1", "r1", "Hi", seq=1),
        Replied("c1", "r1", "Hi", "m", seq=2),
        Context("c1", 1, 10, 2, 2, summarized=False),
    ]
    for event in series:
        await relay.on_notice("there", encode(Relayed("alice", event, turn="r1")))

    assert follower.events == series


async def test_a_subscriber_that_is_a_listener_of_the_turn_gets_each_event_once() -> None:
    relay, _ = _relay()
    listener, follower = Listener(), Listener()
    relay.subscribe("c1", listener)
    relay.subscribe("c1", follower)
    token = Token("c1", "r1", "Hi", seq=1)
    await listener(token)  # what the turn sent its listener itself
    await relay.turn_event("alice", "c1", "r1", token, [listener])

    assert listener.events == [token]
    assert follower.events == [token]


async def test_a_stop_asked_of_another_process_that_finds_no_turn_is_told_missed() -> None:
    relay, notices = _relay()
    asker, missed = Listener(), []

    async def on_missed() -> None:
        missed.append(True)

    request = StopRequest("alice", "c1", "there", relay.new_request())
    relay.requests.ask(request, asker, on_missed)
    await relay.on_notice("there", encode(Missed("here", request.request)))

    assert notices.sent == [request]
    assert missed == [True]


async def test_a_stop_asked_from_another_process_is_served_and_answered_to_it() -> None:
    served: list[StopRequest] = []
    reply = Replied("c1", "r1", "Hi", "m", stopped=True, seq=1)

    async def serve(request: Any, answer: Answer) -> bool:
        served.append(request)
        await answer("r1")(reply)
        return True

    relay, notices = _relay(serve=serve)
    request = StopRequest("alice", "c1", "here", "there.1")
    await relay.on_notice("there", encode(request))

    assert served == [request]
    kinds = [type(b).__name__ for b in notices.sent]
    assert kinds == ["Served", "Relayed"]
    assert notices.sent[1] == Relayed("alice", reply, to="there", request="there.1", turn="r1")


async def test_a_change_of_what_a_user_keeps_is_told_here_and_everywhere() -> None:
    told: list[str | None] = []
    notices = _Notices()
    relay = Relay("here", notices=cast("Any", notices), on_change=told.append)

    relay.changed("alice")  # made here: told here, and published
    await relay.on_notice("there", encode(Changed("bob")))  # made elsewhere
    await relay.resync()  # bulletins may have been missed: anyone's may have changed

    assert told == ["alice", "bob", None]
    assert notices.sent == [Changed("alice")]
