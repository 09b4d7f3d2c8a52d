"""Races between a turn and what happens around it: a stop before the message is stored,
a delete while a turn waits on another server."""

from __future__ import annotations

import anyio
import httpx
import psycopg
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(40))


async def _until_a_query_waits_on_a_lock(database_url: str) -> None:
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        with anyio.fail_after(10):
            while True:
                row = await (await conn.execute(query)).fetchone()
                if row and row[0]:
                    return
                await anyio.sleep(0.02)


async def test_a_stop_before_the_message_is_stored_still_keeps_the_message(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hi")).ack["conversation_id"]
        async with await psycopg.AsyncConnection.connect(database_url) as blocker:
            # Storing the next message waits behind this lock, so a stop arrives before
            # the message is stored (and acknowledged).
            await blocker.execute("LOCK TABLE checkpoint_writes IN SHARE ROW EXCLUSIVE MODE")
            await chat.send(message="second", conversation_id=conversation_id)
            await _until_a_query_waits_on_a_lock(database_url)
            await chat.send(type="stop", conversation_id=conversation_id)
            await anyio.sleep(0.5)  # the stop is handled while the store still waits
            await blocker.commit()
        frames = await chat.until("message")
        history = await chat.history(conversation_id)

    assert [f["type"] for f in frames] == ["ack", "message"]
    assert frames[-1]["stopped"] is True
    assert frames[-1]["content"] == ""
    assert [(m["role"], m["content"]) for m in history] == [
        ("user", "hi"),
        ("assistant", "Reply 1: hi"),
        ("user", "second"),
        ("assistant", ""),
    ]
    assert len(fake_groq.requests) == 1  # stopped before the model was asked


async def _checkpoints(database_url: str, conversation_id: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (conversation_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_a_turn_waiting_on_another_server_finds_its_conversation_deleted(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as first,
        serve_threadline(settings) as second,
        httpx.AsyncClient() as http,
    ):
        async with connect(first, "alice") as chat:
            conversation_id = (await chat.turn("start")).ack["conversation_id"]
        fake_groq.faults.append(Fault(token_delay=0.05, only_for=LONG))
        async with connect(first, "alice") as on_first, connect(second, "alice") as on_second:
            await on_first.send(message=LONG, conversation_id=conversation_id)
            await on_first.until("token")
            # The second server's turn waits for the first server's lease...
            await on_second.send(message="waiting", conversation_id=conversation_id)
            await anyio.sleep(0.2)
            # ...while the conversation is deleted through the first server.
            url = f"http://{first}/users/alice/conversations/{conversation_id}"
            deleted = await http.delete(url)
            error = await on_second.receive(within=15)
        left = await _checkpoints(database_url, conversation_id)

    assert deleted.status_code == 204
    assert error["type"] == "error"
    assert error["code"] == "conversation_not_found"
    assert left == 0  # the waiting turn wrote nothing into the deleted conversation
    assert "waiting" not in [m["content"] for r in fake_groq.requests for m in r["messages"]]


async def test_a_message_to_a_conversation_another_server_deleted_is_not_found_and_not_kept(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    # This server answered a turn there, so it remembers the conversation as alice's; the
    # other server's delete must still win.
    async with (
        serve_threadline(settings) as first,
        serve_threadline(settings) as second,
        httpx.AsyncClient() as http,
        connect(first, "alice") as chat,
    ):
        conversation_id = (await chat.turn("start")).ack["conversation_id"]
        url = f"http://{second}/users/alice/conversations/{conversation_id}"
        deleted = await http.delete(url)
        await chat.send(message="after the delete", conversation_id=conversation_id)
        error = await chat.receive(within=15)
        await chat.send(type="regenerate", conversation_id=conversation_id)
        regenerated = await chat.receive(within=15)
        listed = await http.get(f"http://{first}/users/alice/conversations")
        left = await _checkpoints(database_url, conversation_id)

    assert deleted.status_code == 204
    assert (error["type"], error["code"]) == ("error", "conversation_not_found")
    assert error["conversation_id"] == conversation_id
    assert (regenerated["type"], regenerated["code"]) == ("error", "conversation_not_found")
    assert listed.json()["items"] == []
    assert left == 0
    said = [m["content"] for r in fake_groq.requests for m in r["messages"]]
    assert "after the delete" not in said
