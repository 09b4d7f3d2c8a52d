"""Deleting a conversation, erasing a user and retention take its feedback and shares along."""

from __future__ import annotations

import anyio
import httpx
import msgspec
import psycopg
import pytest

from tests.serving import serve_threadline
from tests.wsclient import ChatClient, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

_KEPT = """
SELECT count(*) FROM store
WHERE prefix LIKE 'feedback.%%' OR prefix = 'shares' OR prefix LIKE 'users.%%.shares'
"""


async def _kept(database_url: str) -> int:
    """Feedback and share items left in the store, of every user."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute(_KEPT)).fetchone()
    return int(row[0]) if row else -1


async def _rated_and_shared(
    http: httpx.AsyncClient, address: str, chat: ChatClient, user: str
) -> tuple[str, str]:
    """A conversation of `user` with feedback on its reply and a share; its id and link."""
    turn = await chat.turn("something to keep")
    conversation_id, reply_id = turn.ack["conversation_id"], turn.reply["message_id"]
    base = f"http://{address}/users/{user}/conversations/{conversation_id}"
    rated = await http.put(f"{base}/messages/{reply_id}/feedback", json={"rating": "up"})
    assert rated.status_code == 200, rated.text
    shared = await http.post(f"{base}/share")
    assert shared.status_code == 201, shared.text
    return conversation_id, shared.json()["url"]


async def test_deleting_and_erasing_remove_feedback_and_shares(
    settings: Settings, database_url: str
) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        async with connect(address, "bob") as bob:
            await _rated_and_shared(http, address, bob, "bob")
        bobs = await _kept(database_url)
        assert bobs == 3  # his feedback, his share under its id and in his list
        async with connect(address, "ada") as ada:
            deleted, deleted_link = await _rated_and_shared(http, address, ada, "ada")
            _, erased_link = await _rated_and_shared(http, address, ada, "ada")
        assert await _kept(database_url) == bobs + 6

        gone = await http.delete(f"http://{address}/users/ada/conversations/{deleted}")
        assert gone.status_code == 204
        assert (await http.get(deleted_link, params={"format": "json"})).status_code == 404
        assert await _kept(database_url) == bobs + 3

        erased = await http.delete(f"http://{address}/users/ada")
        assert erased.status_code == 200, erased.text
        assert (await http.get(erased_link, params={"format": "json"})).status_code == 404
        assert await _kept(database_url) == bobs


async def test_retention_removes_the_feedback_and_shares_of_what_it_sweeps(
    settings: Settings, database_url: str
) -> None:
    brief = msgspec.structs.replace(settings, conversation_ttl_days=1.0 / 86_400)  # 1 s
    async with (
        serve_threadline(brief) as address,
        httpx.AsyncClient() as http,
        connect(address, "ada") as ada,
    ):
        _, link = await _rated_and_shared(http, address, ada, "ada")
        with anyio.fail_after(15):
            while (await http.get(link, params={"format": "json"})).status_code != 404:  # noqa: ASYNC110 - polls a server
                await anyio.sleep(0.2)
            while await _kept(database_url):  # noqa: ASYNC110 - polls the database
                await anyio.sleep(0.1)
