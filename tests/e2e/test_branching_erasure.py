"""Erasure and deletion over the real API leave nothing of any branch: no checkpoint, no
feedback (the admin's export shows none), no share (its link answers 404)."""

from __future__ import annotations

import httpx
import msgspec
import psycopg
import pytest

from tests.credentials import api_keys
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

# Every table that holds rows of a thread (LangGraph's three; search's derived index).
_ROWS = """
SELECT (SELECT count(*) FROM checkpoints WHERE thread_id = ANY(%(ids)s))
     + (SELECT count(*) FROM checkpoint_writes WHERE thread_id = ANY(%(ids)s))
     + (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = ANY(%(ids)s))
     + (SELECT count(*) FROM threadline_message_index WHERE conversation_id = ANY(%(ids)s))
"""


async def _rows(database_url: str, conversation_ids: list[str]) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute(_ROWS, {"ids": conversation_ids})).fetchone()
    return int(row[0]) if row else -1


class _Api:
    """REST calls of one user, and the admin's feedback export."""

    def __init__(self, http: httpx.AsyncClient, address: str, keys: dict[str, str]) -> None:
        self.http, self.address, self.keys = http, address, keys

    async def call(self, method: str, user: str, path: str, **kwargs: object) -> httpx.Response:
        url = f"http://{self.address}/users/{user}{path}"
        headers = {"X-API-Key": self.keys[user]}
        return await self.http.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]

    async def rated(self) -> set[tuple[str, str]]:
        """(user, message) of every feedback the admin's export has."""
        answer = await self.http.get(
            f"http://{self.address}/admin/feedback", headers={"X-API-Key": self.keys["ops"]}
        )
        assert answer.status_code == 200, answer.text
        lines = [msgspec.json.decode(line) for line in answer.text.splitlines()]
        return {(line["user_id"], line["message_id"]) for line in lines}


async def _branched(api: _Api, chat: ChatClient, user: str) -> tuple[str, list[str], str]:
    """A conversation with three branches, feedback on replies of two, and a share.

    Returns:
        Its id, the ids of the rated replies, the share's link.
    """
    first = await chat.turn("one")
    conversation_id = first.ack["conversation_id"]
    path = f"/conversations/{conversation_id}"

    async def rate(reply_id: str) -> str:
        feedback = f"{path}/messages/{reply_id}/feedback"
        answer = await api.call("PUT", user, feedback, json={"rating": "up"})
        assert answer.status_code == 200, answer.text
        return reply_id

    rated = [await rate(first.reply["message_id"])]
    edit = {"message_id": first.ack["message_id"], "message": "ONE"}
    await chat.send(type="edit", conversation_id=conversation_id, **edit)
    rated.append(await rate((await chat.collect()).reply["message_id"]))
    await chat.send(type="regenerate", conversation_id=conversation_id)
    await chat.collect()  # both rated replies are off the current path now
    shared = await api.call("POST", user, f"{path}/share")
    assert shared.status_code == 201, shared.text
    return conversation_id, rated, shared.json()["url"]


@pytest.mark.parametrize("how", ["erase the user", "delete the conversation"])
async def test_nothing_of_any_branch_is_left(
    settings: Settings, database_url: str, how: str
) -> None:
    async with api_keys(database_url) as made:
        keys = {"ops": (await made.create("ops", user_id=None, admin=True)).key}
        for user in ("ada", "bob"):
            keys[user] = (await made.create(user, user_id=user, admin=False)).key
    secured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(secured) as address, httpx.AsyncClient(timeout=10) as http:
        api = _Api(http, address, keys)
        async with connect(address, "ada", headers={"X-API-Key": keys["ada"]}) as ada:
            gone, gone_rated, gone_link = await _branched(api, ada, "ada")
        async with connect(address, "bob", headers={"X-API-Key": keys["bob"]}) as bob:
            kept, kept_rated, kept_link = await _branched(api, bob, "bob")
        before = await _rows(database_url, [gone])
        rated_before = await api.rated()

        if how == "erase the user":
            done = await api.call("DELETE", "ada", "")
        else:
            done = await api.call("DELETE", "ada", f"/conversations/{gone}")
        assert done.is_success, done.text

        left = await _rows(database_url, [gone])
        rated_after = await api.rated()
        links = [
            (await http.get(link, params={"format": "json"})).status_code
            for link in (gone_link, kept_link)
        ]
        bobs_rows = await _rows(database_url, [kept])

    assert before > 0
    assert {("ada", m) for m in gone_rated} <= rated_before
    assert left == 0
    assert rated_after == {("bob", m) for m in kept_rated}
    assert links == [404, 200]
    assert bobs_rows > 0
