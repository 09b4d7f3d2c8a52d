"""Stopping the server never loses a turn: it finishes within the grace period, or stops
and keeps what was streamed."""

from __future__ import annotations

import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(40))


async def _start_turn_then_shut_down(settings: Settings) -> str:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message=LONG)
        conversation_id: str = (await chat.receive())["conversation_id"]
        await chat.receive()  # a token: the turn is mid-stream as the server stops
    return conversation_id


async def test_a_running_turn_completes_during_shutdown(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(token_delay=0.02))
    conversation_id = await _start_turn_then_shut_down(settings)

    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        history = await chat.history(conversation_id)

    assert [m["content"] for m in history] == [LONG, f"Reply 1: {LONG}"]


async def test_a_turn_outliving_the_grace_period_is_stopped_and_kept(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    hasty = msgspec.structs.replace(settings, shutdown_grace=0.0)
    fake_groq.faults.append(Fault(token_delay=0.05))
    conversation_id = await _start_turn_then_shut_down(hasty)

    async with serve_threadline(hasty) as address, connect(address, "alice") as chat:
        history = await chat.history(conversation_id)

    assert history[0]["content"] == LONG
    assert history[1]["stopped"] is True
    assert history[1]["content"]
    assert f"Reply 1: {LONG}".startswith(history[1]["content"])
