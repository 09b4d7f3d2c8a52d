"""The roster: who may start a turn, one at a time per conversation, and the drain."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from tests.unit.chat.fakes import FakeEngine, Listener
from threadline.chat.errors import ConversationBusy, ShuttingDown, TooManyTurns
from threadline.chat.events import Failed, Replied
from threadline.chat.turns.roster import Roster, TurnPolicy
from threadline.chat.turns.turn import Turn

pytestmark = pytest.mark.anyio


class _Activity:
    async def drain(self, grace: float) -> None:
        return None


def _turn(engine: FakeEngine, origin: Listener, n: int, conversation_id: str = "c1") -> Turn:
    return Turn(
        engine.services(),
        "alice",
        conversation_id,
        f"message {n}",
        message_id=f"m{n}",
        reply_id=f"r{n}",
        client_message_id=None,
        origin=origin,
    )


async def test_turns_of_one_conversation_run_one_at_a_time_in_order() -> None:
    engine, roster = FakeEngine(), Roster(TurnPolicy(), None)
    engine.go = asyncio.Event()
    listeners = [Listener() for _ in range(3)]
    turns = [_turn(engine, listener, n) for n, listener in enumerate(listeners)]
    for turn in turns:
        await roster.start(turn)
    await asyncio.sleep(0.01)
    running = list(engine.ran)
    engine.go.set()
    await asyncio.gather(*(t.task for t in turns if t.task is not None))

    assert running == ["c1"]  # the others waited their place
    assert [listener.kinds()[0] for listener in listeners] == ["Accepted", "Queued", "Queued"]
    assert all(listener.kinds()[-2:] == ["Replied", "Context"] for listener in listeners)
    assert not roster.busy("c1")


async def test_past_its_limits_a_turn_is_refused_before_anything_is_stored() -> None:
    engine = FakeEngine()
    engine.go = asyncio.Event()
    roster = Roster(TurnPolicy(queued_per_conversation=1, per_user=2), None)
    await roster.start(_turn(engine, Listener(), 1))
    await roster.start(_turn(engine, Listener(), 2))  # waits: the one place in the queue

    with pytest.raises(ConversationBusy):
        await roster.start(_turn(engine, Listener(), 3))
    with pytest.raises(TooManyTurns):
        await roster.admit("alice", "one more")
    engine.go.set()


async def test_a_busy_conversation_refuses_at_once_when_turns_do_not_queue() -> None:
    engine = FakeEngine()
    engine.go = asyncio.Event()
    roster = Roster(TurnPolicy(queue_when_busy=False), None)
    await roster.start(_turn(engine, Listener(), 1))

    with pytest.raises(ConversationBusy):
        await roster.start(_turn(engine, Listener(), 2))
    await roster.start(_turn(engine, Listener(), 3, conversation_id="c2"))  # another is free
    engine.go.set()


async def test_the_drain_stops_running_turns_and_tells_waiting_ones_they_never_ran() -> None:
    engine, roster = FakeEngine(), Roster(TurnPolicy(), None)
    engine.go = asyncio.Event()
    first, second = Listener(), Listener()
    await roster.start(_turn(engine, first, 1))
    await roster.start(_turn(engine, second, 2))
    await asyncio.sleep(0.01)
    await roster.settle(0.0)  # SIGTERM: no new turns, and the live ones had their grace
    await roster.drain(30.0, cast("Any", _Activity()))

    with pytest.raises(ShuttingDown):
        await roster.admit("alice", "late")
    stopped = first.events[-1]  # stopped, and what it had streamed kept
    assert isinstance(stopped, Replied)
    assert stopped.stopped
    refusal = second.events[-1]
    assert isinstance(refusal, Failed)
    assert refusal.retryable
    assert engine.ran == ["c1"]
