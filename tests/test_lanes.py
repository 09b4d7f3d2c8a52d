"""The per-conversation scheduler, on its own: no socket, no database."""

from __future__ import annotations

import asyncio

import pytest

from threadline.lanes import Turn, TurnManager
from threadline.protocol import ReplyMessage, ServerFrame

pytestmark = pytest.mark.anyio


async def test_a_turns_final_frames_go_out_once_its_conversation_is_free() -> None:
    busy_when_told: list[bool] = []
    told = asyncio.Event()

    async def execute(turn: Turn) -> list[ServerFrame]:
        await asyncio.sleep(0)
        return [ReplyMessage(turn.conversation_id, turn.reply_id, "done", "m")]

    manager = TurnManager(execute)

    async def listener(frame: ServerFrame) -> None:
        # A client that answers the moment it sees the reply must find the lane free.
        busy_when_told.append(manager.busy("c"))
        told.set()

    manager.submit(Turn("u", "c", "m1", "r1", "hi", listeners=[listener]))
    async with asyncio.timeout(5):
        await told.wait()

    assert busy_when_told == [False]
    assert manager.of_user("u") == 0


async def test_a_withdrawn_waiting_turn_never_runs() -> None:
    ran: list[str] = []
    release = asyncio.Event()

    async def execute(turn: Turn) -> list[ServerFrame]:
        ran.append(turn.message_id)
        await release.wait()
        return []

    manager = TurnManager(execute)
    first = Turn("u", "c", "m1", "r1", "one")
    second = Turn("u", "c", "m2", "r2", "two")
    manager.submit(first)
    manager.submit(second)
    await asyncio.sleep(0.01)
    manager.withdraw(second)
    assert manager.of_user("u") == 1
    release.set()
    async with asyncio.timeout(5):
        while manager.busy("c"):  # noqa: ASYNC110 - the scheduler exposes no event
            await asyncio.sleep(0.01)

    assert ran == ["m1"]
    assert manager.of_user("u") == 0
