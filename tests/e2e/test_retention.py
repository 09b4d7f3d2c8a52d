"""Forgetting: a user erased on request, and conversations idle past the retention period."""

from __future__ import annotations

import zlib

import anyio
import httpx
import msgspec
import psycopg
import pytest

from tests.documents import indexed, upload
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

_SEARCHABLE = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'bytea', 'character varying')
"""


def _decoded(value: bytes) -> bytes:
    """A blob as the saver would read it: zlib-compressed ones inflated first."""
    try:
        return zlib.decompress(value)
    except zlib.error:
        return value


async def _places_holding(database_url: str, marker: str) -> list[str]:
    """Every table column that still holds `marker`: as text, or inside a (decoded) blob."""
    found = []
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        columns = await (await conn.execute(_SEARCHABLE)).fetchall()
        for table, column, kind in columns:
            if kind == "bytea":
                query = f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608 - names from the catalog
                blobs = await (await conn.execute(query)).fetchall()
                hits = sum(marker.encode() in _decoded(bytes(row[0])) for row in blobs)
            else:
                test = f"\"{column}\"::text LIKE '%%' || %s || '%%'"
                query = f'SELECT count(*) FROM "{table}" WHERE {test}'  # noqa: S608 - names from the catalog
                row = await (await conn.execute(query, (marker,))).fetchone()
                hits = row[0] if row else 0
            if hits:
                found.append(f"{table}.{column}")
    return found


async def _rows_of_threads(database_url: str, thread_ids: list[str]) -> dict[str, int]:
    """How many rows each checkpoint table still holds for these threads."""
    counts = {}
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            query = f"SELECT count(*) FROM {table} WHERE thread_id = ANY(%s)"  # noqa: S608 - fixed names
            row = await (await conn.execute(query, (thread_ids,))).fetchone()
            counts[table] = row[0] if row else 0
    return counts


async def test_erasing_a_user_leaves_no_trace_of_what_they_said(
    settings: Settings, database_url: str
) -> None:
    marker = "zebra-quartz-7781"
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        async with connect(address, "ada") as ada:
            first = (await ada.turn(f"my secret is {marker}")).ack["conversation_id"]
            second = (await ada.turn(f"again: {marker}")).ack["conversation_id"]
            await ada.turn(f"and {marker} once more", second)
        async with connect(address, "bob") as bob:
            bobs = (await bob.turn("bob's own words")).ack["conversation_id"]
        with anyio.fail_after(10):  # titles are written in the background
            for conversation_id in (first, second):
                url = f"http://{address}/users/ada/conversations/{conversation_id}"
                while not (await http.get(url)).json()["title"]:  # noqa: ASYNC110 - polls a server
                    await anyio.sleep(0.05)
        # What ada keeps beyond conversations: a memory, a document, the search index.
        base = f"http://{address}/users/ada"
        await http.post(f"{base}/memories", json={"text": f"my code word is {marker}"})
        made = await upload(http, f"{base}/documents", "notes.md", f"Note: {marker}".encode())
        await indexed(http, f"{base}/documents/{made.json()['document_id']}")
        assert (await http.get(f"{base}/search", params={"q": marker})).json()["items"]
        # And an item of the LangGraph API's store.
        item = {"namespace": ["notes"], "key": "k", "value": {"text": marker}}
        kept = await http.put(
            f"http://{address}/store/items", json=item, headers={"X-Threadline-User": "ada"}
        )
        assert kept.status_code == 204
        before = await _places_holding(database_url, marker)
        rows_before = await _rows_of_threads(database_url, [first, second])

        erased = await http.delete(f"http://{address}/users/ada")
        listed = (await http.get(f"http://{address}/users/ada/conversations")).json()
        bob_still = await http.get(f"http://{address}/users/bob/conversations/{bobs}")
        async with connect(address, "ada") as ada:
            gone = await ada.error(message="hello?", conversation_id=first)
        after = await _places_holding(database_url, marker)
        rows_after = await _rows_of_threads(database_url, [first, second])

    # Found, decoded: a thread begins with an empty state, so its messages are writes.
    assert "checkpoint_writes.blob" in before
    assert {"threadline_chunks.text", "threadline_message_index.text"} <= set(before)
    assert all(rows_before.values())
    assert erased.status_code == 200
    assert erased.json() == {
        "user_id": "ada",
        "conversations_deleted": 2,
        "memories_deleted": 1,
        "documents_deleted": 1,
        "store_items_deleted": 1,
    }
    assert listed == {"items": [], "next_cursor": None}
    assert bob_still.status_code == 200
    assert gone["code"] == "conversation_not_found"
    assert after == []
    assert rows_after == {"checkpoints": 0, "checkpoint_blobs": 0, "checkpoint_writes": 0}


async def test_erasing_a_user_with_nothing_is_a_zero_count(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        erased = await http.delete(f"http://{address}/users/nobody")

    assert erased.json() == {
        "user_id": "nobody",
        "conversations_deleted": 0,
        "memories_deleted": 0,
        "documents_deleted": 0,
        "store_items_deleted": 0,
    }


async def test_idle_conversations_are_swept_after_the_retention_period(
    settings: Settings, database_url: str
) -> None:
    brief = msgspec.structs.replace(settings, conversation_ttl_days=2.0 / 86_400)  # 2 s
    async with (
        serve_threadline(brief) as address,
        httpx.AsyncClient() as http,
        connect(address, "alice") as chat,
    ):
        idle = (await chat.turn("forget me")).ack["conversation_id"]
        active = (await chat.turn("keep me")).ack["conversation_id"]
        url = f"http://{address}/users/alice/conversations"
        with anyio.fail_after(15):
            while (await http.get(f"{url}/{idle}")).status_code != 404:
                await chat.turn("still here", active)  # activity keeps it alive
                await anyio.sleep(0.3)
        kept = await http.get(f"{url}/{active}")
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (idle,)
        )
        left = await cursor.fetchone()

    assert kept.status_code == 200
    assert left == (0,)
