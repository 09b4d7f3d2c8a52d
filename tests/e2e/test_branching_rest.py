"""Edit and branch over REST, and branches under deletion."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _said(messages: list[Frame]) -> list[str]:
    return [f"{m['role']}: {m['content']}" for m in messages]


async def test_a_rest_edit_streams_its_reply_to_subscribers_and_switch_goes_back(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(timeout=10) as http,
        connect(address, "alice") as chat,
    ):
        first = await chat.turn("hello")
        conversation_id = first.ack["conversation_id"]
        base = f"http://{address}/users/alice/conversations/{conversation_id}/messages"
        await chat.send(type="subscribe", conversation_id=conversation_id)
        message_id = first.ack["message_id"]
        edited = await http.post(f"{base}/{message_id}/edit", json={"message": "hi there"})
        streamed = await chat.collect()
        read = await http.get(f"http://{address}/users/alice/conversations/{conversation_id}")
        switched = await http.post(f"{base}/{message_id}/switch")
        refusals = [
            await http.post(f"{base}/{first.reply['message_id']}/edit", json={"message": "x"}),
            await http.post(f"{base}/nope/switch"),
            await http.post(f"{base}/{message_id}/edit", json={"message": "  "}),
            await http.post(
                f"http://{address}/users/mallory/conversations/{conversation_id}/messages/"
                f"{message_id}/edit",
                json={"message": "x"},
            ),
        ]

    assert edited.status_code == 202
    accepted = edited.json()
    assert accepted["conversation_id"] == conversation_id
    assert streamed.ack["message_id"] == accepted["message_id"]
    assert streamed.reply["message_id"] == accepted["reply_id"]
    assert streamed.reply["content"] == "Reply 2: hi there"
    assert _said(read.json()["messages"]) == ["user: hi there", "assistant: Reply 2: hi there"]
    assert read.json()["messages"][0]["branch"]["sibling_ids"] == [
        message_id,
        accepted["message_id"],
    ]
    assert switched.status_code == 200
    assert _said(switched.json()["messages"]) == ["user: hello", "assistant: Reply 1: hello"]
    assert [(r.status_code, r.json()["code"]) for r in refusals] == [
        (404, "message_not_found"),
        (404, "message_not_found"),
        (400, "invalid_request"),
        (404, "conversation_not_found"),
    ]


async def test_deleting_a_conversation_removes_every_branch(
    settings: Settings, fake_groq: FakeGroq, database_url: str
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(timeout=10) as http,
        connect(address, "alice") as chat,
    ):
        first = await chat.turn("hello")
        conversation_id = first.ack["conversation_id"]
        message_id = first.ack["message_id"]
        await chat.send(
            type="edit", conversation_id=conversation_id, message_id=message_id, message="hey"
        )
        await chat.collect()
        await chat.send(type="regenerate", conversation_id=conversation_id)
        await chat.collect()
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            query = "SELECT count(*) FROM checkpoints WHERE thread_id = %s"
            before = await (await conn.execute(query, (conversation_id,))).fetchone()
            deleted = await http.delete(
                f"http://{address}/users/alice/conversations/{conversation_id}"
            )
            left = await (await conn.execute(query, (conversation_id,))).fetchone()
            writes = await (
                await conn.execute(
                    "SELECT count(*) FROM checkpoint_writes WHERE thread_id = %s",
                    (conversation_id,),
                )
            ).fetchone()

    assert before is not None
    assert before[0] >= 5  # three branches' checkpoints
    assert deleted.status_code == 204
    assert (left, writes) == ((0,), (0,))
