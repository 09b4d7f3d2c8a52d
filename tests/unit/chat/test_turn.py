"""A turn, from its place in the lane to its last event, with the engine faked."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.chat.fakes import MODEL, FakeEngine, Listener
from threadline.chat.events import Accepted, Context, Failed, Queued, Replied, Token
from threadline.chat.turns.lanes import Lanes
from threadline.chat.turns.turn import Turn

pytestmark = pytest.mark.anyio


def _turn(engine: FakeEngine, origin: Listener, reply_id: str = "r1") -> Turn:
    return Turn(
        engine.services(),
        "alice",
        "c1",
        "hi",
        message_id=f"m-{reply_id}",
        reply_id=reply_id,
        client_message_id=None,
        origin=origin,
    )


async def _run(turn: Turn, lanes: Lanes) -> None:
    place, ahead = lanes.join(turn.conversation_id)
    await turn.start(place, ahead)


async def test_a_turn_emits_its_series_in_order_numbering_the_reply() -> None:
    engine, origin = FakeEngine(["Hel", "lo"]), Listener()
    turn = _turn(engine, origin)
    await _run(turn, Lanes())
    assert turn.task is not None
    await turn.task

    assert origin.events == [
        Accepted("c1", "m-r1"),
        Token("c1", "r1", "Hel", seq=1),
        Token("c1", "r1", "lo", seq=2),
        Replied("c1", "r1", "Hello", MODEL, seq=3),
        Context("c1", 10, 100, 2, 2, summarized=False),
    ]


async def test_a_turn_behind_another_says_it_waits_and_runs_after_it() -> None:
    engine, first, second = FakeEngine(), Listener(), Listener()
    engine.go = asyncio.Event()
    lanes = Lanes()
    running, waiting = _turn(engine, first, "r1"), _turn(engine, second, "r2")
    await _run(running, lanes)
    await _run(waiting, lanes)
    await asyncio.sleep(0.01)
    waited = list(second.events)
    engine.go.set()
    assert waiting.task is not None
    await waiting.task

    assert waited == [Queued("c1", "m-r2", 1)]
    assert first.kinds()[-2:] == ["Replied", "Context"]
    assert second.kinds() == ["Queued", "Accepted", "Token", "Token", "Replied", "Context"]


async def test_a_stop_keeps_what_was_streamed_as_a_stopped_reply() -> None:
    engine, origin = FakeEngine(["Hel"]), Listener()
    engine.go = asyncio.Event()
    turn = _turn(engine, origin)
    await _run(turn, Lanes())
    await engine.running.wait()
    turn.stop()
    assert turn.task is not None
    await turn.task

    reply = origin.events[-1]
    assert isinstance(reply, Replied)
    assert reply.stopped
    assert engine.stored == [""]  # nothing had streamed yet: an empty partial reply


async def test_a_waiting_turn_withdrawn_never_runs_and_its_listener_is_told() -> None:
    engine, first, second = FakeEngine(), Listener(), Listener()
    engine.go = asyncio.Event()
    lanes = Lanes()
    running, waiting = _turn(engine, first, "r1"), _turn(engine, second, "r2")
    await _run(running, lanes)
    await _run(waiting, lanes)
    refusal = Failed("shutting_down", "bye", retryable=True, conversation_id="c1")
    await waiting.withdraw(refusal)
    engine.go.set()
    assert running.task is not None
    await running.task

    assert second.events == [Queued("c1", "m-r2", 1), refusal]
    assert engine.ran == ["c1"]  # the running turn's alone


async def test_an_engine_failure_is_the_turn_s_failed_event() -> None:
    engine, origin = FakeEngine(), Listener()
    engine.fail = RuntimeError("secret internals")
    turn = _turn(engine, origin)
    await _run(turn, Lanes())
    assert turn.task is not None
    await turn.task

    failed = origin.events[-1]
    assert isinstance(failed, Failed)
    assert (failed.code, failed.conversation_id) == ("internal_error", "c1")
    assert "secret" not in failed.detail


async def test_a_late_listener_is_caught_up_then_hears_the_rest_live() -> None:
    engine, origin, late = FakeEngine(["a", "b", "c"]), Listener(), Listener()
    engine.go = asyncio.Event()
    turn = _turn(engine, origin)
    await _run(turn, Lanes())
    await engine.running.wait()
    await turn.audience.attach(late)
    caught_up = list(late.events)
    engine.go.set()
    assert turn.task is not None
    await turn.task

    assert caught_up == [Accepted("c1", "m-r1")]
    assert late.events == origin.events
