"""Search over one's own conversations (`GET /users/{id}/search`): by words and by meaning,
kept current, rebuilt from the checkpoints when its index is lost, never another user's,
and erased with the user together with memories and documents."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from tests.documents import indexed, upload
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_api_key=None)


async def _search(address: str, user: str, q: str, **params: Any) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{address}/users/{user}/search", params={"q": q, **params}
        )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _rows(database_url: str, table: str, owner: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE owner = %s",  # noqa: S608 - a fixed name
            (owner,),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_conversations_are_found_by_their_words_best_first(offline: Settings) -> None:
    async with serve_threadline(offline) as address, connect(address, "alice") as alice:
        kumquat = await alice.turn("I planted a kumquat tree in the garden")
        await alice.turn("Let us talk about the train timetable to Porto")
        hits = await _search(address, "alice", "kumquat")
    [hit] = hits
    assert hit["conversation_id"] == kumquat.ack["conversation_id"]
    # The user's message, or the offline model's reply that quotes it.
    ids = {"user": kumquat.ack["message_id"], "assistant": kumquat.reply["message_id"]}
    assert hit["message_id"] == ids[hit["role"]]
    assert "I planted a kumquat tree in the garden" in hit["snippet"]
    assert set(hit) == {"conversation_id", "title", "message_id", "role", "snippet", "score"}
    assert 0 < hit["score"] <= 1


async def test_conversations_are_found_by_meaning_without_a_shared_word(
    offline: Settings,
) -> None:
    async with serve_threadline(offline) as address, connect(address, "alice") as alice:
        car = await alice.turn("My car broke down on the motorway")
        await alice.turn("Recommend a poem about the sea")
        hits = await _search(address, "alice", "vehicle engine failure")
    assert hits[0]["conversation_id"] == car.ack["conversation_id"]


async def test_search_never_returns_another_users_conversations(offline: Settings) -> None:
    async with serve_threadline(offline) as address:
        async with connect(address, "bob") as bob:
            await bob.turn("My secret fruit is durian")
        async with connect(address, "alice") as alice:
            await alice.turn("I like apples")
        assert await _search(address, "alice", "durian") == []
        assert all(
            "durian" not in hit["snippet"] for hit in await _search(address, "alice", "fruit")
        )
        assert len(await _search(address, "bob", "durian")) == 1


async def test_the_index_follows_new_messages_deletions_and_is_rebuilt_when_lost(
    offline: Settings, database_url: str
) -> None:
    async with serve_threadline(offline) as address, connect(address, "alice") as alice:
        first = await alice.turn("Notes about sourdough starters")
        conversation_id = first.ack["conversation_id"]
        assert len(await _search(address, "alice", "sourdough")) == 1
        assert await _search(address, "alice", "rye") == []
        later = await alice.turn("Feed it rye flour daily", conversation_id)
        [hit] = await _search(address, "alice", "rye")
        assert hit["conversation_id"] == conversation_id

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE threadline_message_index, threadline_search_state")
        [hit] = await _search(address, "alice", "rye")
        assert hit["message_id"] in {later.ack["message_id"], later.reply["message_id"]}

        async with httpx.AsyncClient() as http:
            path = f"http://{address}/users/alice/conversations/{conversation_id}"
            assert (await http.delete(path)).status_code == 204
        assert await _search(address, "alice", "sourdough") == []
    assert _rows(database_url, "threadline_message_index", "alice") == 0


async def test_erasure_removes_memories_documents_and_search_entries(
    offline: Settings, database_url: str
) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        async with connect(address, "alice") as alice:
            await alice.send(message="Remember that I collect stamps")
            await alice.until("message")
            await alice.turn("Tell me about stamps")
        made = await upload(http, "/users/alice/documents", "stamps.md", b"Penny Black, 1840.")
        await indexed(http, f"/users/alice/documents/{made.json()['document_id']}")
        assert len(await _search(address, "alice", "stamps")) == 2
        assert _rows(database_url, "threadline_message_index", "alice") > 0

        erased = (await http.delete("/users/alice")).json()
        assert erased == {
            "user_id": "alice",
            "conversations_deleted": 2,
            "memories_deleted": 1,
            "documents_deleted": 1,
            "store_items_deleted": 0,
        }
        assert (await http.get("/users/alice/memories")).json() == {"items": []}
        assert (await http.get("/users/alice/documents")).json() == {"items": []}
        assert await _search(address, "alice", "stamps") == []
    for table in ("threadline_message_index", "threadline_search_state", "threadline_chunks"):
        assert _rows(database_url, table, "alice") == 0, table
    with psycopg.connect(database_url) as conn:
        left = conn.execute("SELECT count(*) FROM store WHERE prefix LIKE 'users.alice.%'")
        assert left.fetchone() == (0,)


async def test_bad_queries_get_clear_errors(offline: Settings) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        cases: list[dict[str, str | int]] = [
            {},
            {"q": ""},
            {"q": "x" * 501},
            {"q": "a", "limit": 0},
            {"q": "a", "limit": 51},
        ]
        for params in cases:
            response = await http.get("/users/alice/search", params=params)
            assert response.status_code == 400, params
            assert response.json()["code"] == "invalid_request"
        nul = await http.get("/users/alice/search", params={"q": "\x00"})
        assert (nul.status_code, nul.json()) == (200, {"items": []})
        assert (await http.get("/users/alice/search", params={"q": "!!! ???"})).json() == {
            "items": []
        }
