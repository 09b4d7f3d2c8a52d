"""A turn's audience: numbers the reply, catches late listeners up, tells subscribers."""

from __future__ import annotations

import pytest

from tests.unit.chat.fakes import Listener
from threadline.chat.events import Accepted, Context, Event, Replied, Token
from threadline.chat.fanout.relay import Relay
from threadline.chat.turns.audience import Audience

pytestmark = pytest.mark.anyio


def _series() -> list[Event]:
    return [
        Accepted("c1", "m1"),
        Token("c1", "r1", "He"),
        Token("c1", "r1", "llo"),
        Replied("c1", "r1", "Hello", "m"),
        Context("c1", 1, 10, 2, 2, summarized=False),
    ]


async def _emitted(audience: Audience, *, numbered: bool = True) -> None:
    for event in _series():
        await audience.emit(event, numbered=numbered)


async def test_the_reply_s_events_are_numbered_from_one_the_others_not() -> None:
    origin = Listener()
    await _emitted(Audience(Relay(), "alice", "c1", "r1", origin))

    seqs = [getattr(event, "seq", None) for event in origin.events]
    assert seqs == [None, 1, 2, 3, None]


async def test_a_reply_read_from_storage_goes_out_unnumbered() -> None:
    origin = Listener()
    await _emitted(Audience(Relay(), "alice", "c1", "r1", origin), numbered=False)

    assert origin.events == _series()


async def test_a_late_listener_gets_what_it_missed_after_the_seq_it_names() -> None:
    origin, reloaded, stopper = Listener(), Listener(), Listener()
    audience = Audience(Relay(), "alice", "c1", "r1", origin)
    await _emitted(audience)
    await audience.attach(reloaded, after_seq=1)
    await audience.attach(stopper)

    assert reloaded.events == origin.events[2:]
    assert stopper.events == origin.events


async def test_a_listener_detached_hears_no_more() -> None:
    origin = Listener()
    audience = Audience(Relay(), "alice", "c1", "r1", origin)
    await audience.emit(Accepted("c1", "m1"))
    audience.detach(origin)
    await audience.emit(Token("c1", "r1", "He"))

    assert origin.events == [Accepted("c1", "m1")]
    assert not audience.watched


async def test_a_subscriber_hears_the_turn_once_even_after_it_attaches() -> None:
    relay, origin, follower = Relay(), Listener(), Listener()
    relay.subscribe("c1", follower)
    audience = Audience(relay, "alice", "c1", "r1", origin)
    series = _series()
    for event in series[:3]:
        await audience.emit(event)
    await audience.attach(follower)  # a stop from the following socket
    for event in series[3:]:
        await audience.emit(event)

    assert follower.events == origin.events
