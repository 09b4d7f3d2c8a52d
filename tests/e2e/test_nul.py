"""A NUL character in a message: refused on every surface, each in its own error shape,
and a NUL already stored cannot break the user's search."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import psycopg
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph
from psycopg.rows import dict_row

from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings
from threadline.storage.namespaces import user_label

pytestmark = pytest.mark.anyio

NUL = "plants \x00 and rocks"


async def _search(http: httpx.AsyncClient, address: str, user: str) -> list[dict[str, Any]]:
    response = await http.get(f"http://{address}/users/{user}/search", params={"q": "plants"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _sse_data(text: str) -> list[Any]:
    lines = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    return [msgspec.json.decode(line) for line in lines if line != "[DONE]"]


async def test_a_message_with_a_nul_is_refused_on_every_surface_and_search_still_works(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient(timeout=30) as http:
        base = f"http://{address}"
        async with connect(address, "local") as chat:
            turn = await chat.turn("plants first")
            cid = turn.ack["conversation_id"]
            socket = await chat.error(message=NUL)
            in_place = await chat.error(
                type="edit", conversation_id=cid, message_id=turn.ack["message_id"], message=NUL
            )
        edited = await http.post(
            f"{base}/users/local/conversations/{cid}/messages/{turn.ack['message_id']}/edit",
            json={"message": NUL},
        )
        ai_sdk = await http.post(
            f"{base}/ai-sdk/chat",
            json={
                "id": "chat-nul",
                "messages": [{"id": "m", "role": "user", "parts": [{"type": "text", "text": NUL}]}],
                "trigger": "submit-message",
            },
        )
        run = {"input": {"messages": [{"type": "human", "content": NUL}]}}
        command = {"id": 1, "method": "run.start", "params": run}
        events = await http.post(f"{base}/threads/{cid}/commands", json=command)
        ag_ui = await http.post(
            f"{base}/ag-ui",
            json={
                "threadId": cid,
                "runId": "r",
                "messages": [{"id": "u", "role": "user", "content": NUL}],
            },
        )
        langgraph = await http.post(
            f"{base}/threads/{cid}/runs/wait", json={"assistant_id": "threadline", **run}
        )
        found = await _search(http, address, "local")
        async with connect(address, "local") as chat:
            stored = await chat.history(cid)

    assert (socket["code"], in_place["code"]) == ("invalid_frame", "invalid_frame")
    assert "NUL" in socket["detail"]
    assert (edited.status_code, edited.json()["code"]) == (400, "invalid_request")
    assert "NUL" in edited.json()["detail"]
    [chunk] = _sse_data(ai_sdk.text)
    assert chunk["type"] == "error", chunk
    assert chunk["errorText"].startswith("invalid_request: ")
    assert "NUL" in chunk["errorText"]
    assert events.status_code == 400, events.text
    assert (events.json()["code"], events.json()["type"]) == ("invalid_request", "error")
    assert "NUL" in events.json()["message"]
    assert (ag_ui.status_code, ag_ui.json()["code"]) == (422, "invalid_request")
    assert (langgraph.status_code, langgraph.json()["code"]) == (422, "invalid_request")
    assert [m["content"] for m in stored] == ["plants first", "Reply 1: plants first"]
    assert [hit["conversation_id"] for hit in found] == [cid]


async def test_a_nul_already_stored_does_not_break_search(
    settings: Settings, database_url: str
) -> None:
    # A message with a NUL, written as an earlier release let it be: on the official saver.
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        builder = StateGraph(MessagesState)
        builder.add_node("respond", lambda _: {"messages": [AIMessage("ok", id="r0")]})
        builder.add_edge(START, "respond")
        graph = builder.compile(checkpointer=AsyncPostgresSaver(conn))
        config: Any = {"configurable": {"thread_id": "with-nul"}}
        await graph.ainvoke({"messages": [HumanMessage(NUL, id="h0")]}, config)
        await conn.execute(
            "INSERT INTO store (prefix, key, value) VALUES (%s, %s, '{}'::jsonb)",
            (f"users.{user_label('alice')}.conversations", "with-nul"),
        )

    async with serve_threadline(settings) as address, httpx.AsyncClient(timeout=30) as http:
        first = await _search(http, address, "alice")
        again = await _search(http, address, "alice")

    assert [hit["conversation_id"] for hit in first] == ["with-nul"]
    assert "\x00" not in first[0]["snippet"]
    assert again == first
