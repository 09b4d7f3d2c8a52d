"""Two Threadline instances on one database never fork a conversation."""

from __future__ import annotations

import anyio
import httpx
import msgspec
import psycopg
import pytest
from httpx_ws import WebSocketDisconnect

from tests.credentials import api_keys, handshake
from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(30))


async def _forks(database_url: str, conversation_id: str) -> list[tuple[str, int]]:
    """Checkpoints that have more than one child: a forked history."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT parent_checkpoint_id, count(*) FROM checkpoints"
            " WHERE thread_id = %s AND parent_checkpoint_id IS NOT NULL"
            " GROUP BY parent_checkpoint_id HAVING count(*) > 1",
            (conversation_id,),
        )
        return [(str(row[0]), int(row[1])) for row in await cursor.fetchall()]


async def test_concurrent_turns_on_two_instances_are_serialized(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.02)
    async with serve_threadline(settings) as first, serve_threadline(settings) as second:
        async with connect(first, "alice") as chat:
            conversation_id = (await chat.turn("start")).ack["conversation_id"]
        async with connect(first, "alice") as on_first, connect(second, "alice") as on_second:
            await on_first.send(message=f"A {LONG}", conversation_id=conversation_id)
            assert (await on_first.receive())["type"] == "ack"
            await on_second.send(message="B", conversation_id=conversation_id)
            replies: dict[str, list[Frame]] = {}
            async with anyio.create_task_group() as group:

                async def read(name: str, chat_client: ChatClient) -> None:
                    replies[name] = await chat_client.until("message", within=20)

                group.start_soon(read, "first", on_first)
                group.start_soon(read, "second", on_second)
            history = await on_first.history(conversation_id)

    assert replies["first"][-1]["content"] == f"Reply 2: A {LONG}"
    assert replies["second"][-1]["content"] == "Reply 3: B"
    assert [m["content"] for m in history] == [
        "start",
        "Reply 1: start",
        f"A {LONG}",
        f"Reply 2: A {LONG}",
        "B",
        "Reply 3: B",
    ]
    # The second instance's model call saw the first instance's finished turn.
    assert fake_groq.user_turns()[-2:] == [f"assistant: Reply 2: A {LONG}", "user: B"]
    assert await _forks(database_url, conversation_id) == []


async def _lease(database_url: str, conversation_id: str, seconds_left: float) -> None:
    """Plant a lease as another server would (negative: one whose holder died)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO threadline_turn_leases VALUES (%s, 'another-server',"
            " now() + %s * interval '1 second')",
            (conversation_id, seconds_left),
        )


async def test_more_concurrent_turns_than_pool_connections_all_complete(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    small_pool = msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=3)
    fake_groq.default = Fault(delay=0.3)  # every turn is still running when the others start
    async with serve_threadline(small_pool) as address:
        replies: list[str] = []

        async def chat(n: int) -> None:
            async with connect(address, f"user{n}") as client:
                replies.append((await client.turn(f"hello {n}")).reply["content"])

        async with anyio.create_task_group() as group:
            for n in range(12):
                group.start_soon(chat, n)

    assert len(replies) == 12


async def test_a_lease_left_by_a_dead_server_expires(settings: Settings, database_url: str) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hi")).ack["conversation_id"]
        await _lease(database_url, conversation_id, seconds_left=-1)
        after = await chat.turn("still there?", conversation_id)

    assert after.reply["content"].endswith("still there?")


async def test_a_live_lease_elsewhere_makes_a_turn_wait_or_be_refused(
    settings: Settings, database_url: str
) -> None:
    rejecting = msgspec.structs.replace(settings, busy_policy="reject")
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hi")).ack["conversation_id"]
        await _lease(database_url, conversation_id, seconds_left=1.0)
        started = anyio.current_time()
        waited = await chat.turn("after you", conversation_id)
        waited_for = anyio.current_time() - started
    async with serve_threadline(rejecting) as address, connect(address, "alice") as chat:
        await _lease(database_url, conversation_id, seconds_left=30)
        refused = await chat.error(message="now?", conversation_id=conversation_id)

    assert waited.reply["content"].endswith("after you")
    assert waited_for >= 0.5  # it waited for the other server's turn to end
    assert refused["code"] == "conversation_busy"
    assert refused["retryable"] is True


async def test_a_key_revoked_through_the_admin_api_closes_its_sockets_on_the_other_instance(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = {"X-API-Key": (await keys.create("gateway", user_id=None, admin=True)).key}
        alices = await keys.create("alice's", user_id="alice", admin=False)
    alice = {"X-API-Key": alices.key}
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with (
        serve_threadline(configured) as first,
        serve_threadline(configured) as second,
        httpx.AsyncClient() as http,
    ):
        ticket = await http.post(f"http://{first}/auth/ws-ticket", headers=alice)
        async with connect(second, "alice", headers=alice) as chat:
            assert (await chat.turn("hello")).reply["content"]
            url = f"http://{first}/admin/api-keys/{alices.info.key_id}"
            assert (await http.delete(url, headers=admin)).status_code == 204
            error = (await chat.until("error", within=30))[-1]  # generous on two busy cores
            with pytest.raises(WebSocketDisconnect) as closed:
                await chat.receive()
        refused = await handshake(second, f"/ws/alice?ticket={ticket.json()['ticket']}")

    assert (error["code"], error["retryable"], closed.value.code) == ("token_revoked", False, 4401)
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")
