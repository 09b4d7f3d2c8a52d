"""One conversation's turns over each HTTP edge (LangGraph API, AG-UI, AI SDK), with httpx.

Each client speaks its edge as that edge's own client library does (the whole message list
for AG-UI and the AI SDK, one new message for the LangGraph API) and times each turn from
sending it: the first text delta, and the stream's end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec

from bench.clients import MESSAGE, LoadResult, TurnTiming

# One conversation, `turns` turns: (client, user, conversation id, turns, result).
EdgeClient = Callable[[httpx.AsyncClient, str, str, int, LoadResult], Awaitable[None]]


async def _events(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], user: str
) -> AsyncIterator[tuple[str, str]]:
    """POST `body` and yield the SSE stream's (event name, data) pairs."""
    headers = {"X-Threadline-User": user, "Accept": "text/event-stream"}
    async with http.stream("POST", path, json=body, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        event = "message"
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                yield event, line[5:].strip()
            elif not line:
                event = "message"


async def langgraph_api(
    http: httpx.AsyncClient, user: str, thread: str, turns: int, result: LoadResult
) -> None:
    """`POST /threads/{id}/runs/stream`, `messages-tuple`, as `langgraph-sdk` streams a run."""
    for n in range(turns):
        body = {
            "assistant_id": "threadline",
            "input": {"messages": [{"type": "human", "content": MESSAGE.format(n=n)}]},
            "stream_mode": ["messages-tuple"],
            "if_not_exists": "create",
        }
        started = time.perf_counter()
        first = 0.0
        async for event, data in _events(http, f"/threads/{thread}/runs/stream", body, user):
            if event == "error":
                raise RuntimeError(data[:200])
            if not first and event.startswith("messages") and '"content":""' not in data:
                first = time.perf_counter() - started
        done = time.perf_counter() - started
        result.timings.append(TurnTiming(first or done, first or done, done))


async def ag_ui(
    http: httpx.AsyncClient, user: str, thread: str, turns: int, result: LoadResult
) -> None:
    """`POST /ag-ui`: the stored thread (its last `MESSAGES_SNAPSHOT`) plus one new message."""
    messages: list[Any] = []
    for n in range(turns):
        new = {"id": uuid.uuid4().hex, "role": "user", "content": MESSAGE.format(n=n)}
        body = {
            "threadId": thread,
            "runId": uuid.uuid4().hex,
            "state": {},
            "messages": [*messages, new],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        }
        started = time.perf_counter()
        first = 0.0
        async for _, data in _events(http, "/ag-ui", body, user):
            event = msgspec.json.decode(data)
            kind = event["type"]
            if kind == "TEXT_MESSAGE_CONTENT" and not first:
                first = time.perf_counter() - started
            elif kind == "MESSAGES_SNAPSHOT":
                messages = event["messages"]
            elif kind == "RUN_ERROR":
                raise RuntimeError(f"{event.get('code')}: {event.get('message')}")
        done = time.perf_counter() - started
        result.timings.append(TurnTiming(first or done, first or done, done))


async def ai_sdk(
    http: httpx.AsyncClient, user: str, thread: str, turns: int, result: LoadResult
) -> None:
    """`POST /ai-sdk/chat`: the chat's messages so far, as `DefaultChatTransport` posts them."""
    messages: list[Any] = []
    for n in range(turns):
        text = MESSAGE.format(n=n)
        messages.append({"id": uuid.uuid4().hex, "role": "user", "parts": [_text(text)]})
        body = {"id": thread, "messages": messages, "trigger": "submit-message"}
        started = time.perf_counter()
        first = 0.0
        reply_id, said = "", []
        async for _, data in _events(http, "/ai-sdk/chat", body, user):
            if data == "[DONE]":
                break
            chunk = msgspec.json.decode(data)
            kind = chunk["type"]
            if kind == "start":
                reply_id = chunk.get("messageId", "")
            elif kind == "text-delta":
                first = first or time.perf_counter() - started
                said.append(chunk["delta"])
            elif kind == "error":
                raise RuntimeError(chunk.get("errorText", "error"))
        done = time.perf_counter() - started
        messages.append({"id": reply_id, "role": "assistant", "parts": [_text("".join(said))]})
        result.timings.append(TurnTiming(first or done, first or done, done))


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


EDGES: dict[str, EdgeClient] = {
    "langgraph_api": langgraph_api,
    "ag_ui": ag_ui,
    "ai_sdk": ai_sdk,
}
