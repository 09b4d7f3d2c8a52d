"""The thread event stream as the tests drive it: the SDK under node, and raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import msgspec

from tests.nodejs import run_node

__all__ = ("Envelope", "command", "events", "said", "stream", "text")

Step = dict[str, Any]
Seen = dict[str, Any]
Envelope = dict[str, Any]


async def stream(
    address: str,
    thread_id: str,
    *steps: Step,
    headers: dict[str, str] | None = None,
    transport: str = "sse",
    ticket: str = "",
) -> list[Seen]:
    """What the SDK's thread stream saw after each step (result, error, events)."""
    seen: list[Seen] = await run_node(
        "thread_events.mjs",
        THREADLINE_URL=f"http://{address}",
        THREAD_ID=thread_id,
        STEPS=msgspec.json.encode(steps).decode(),
        HEADERS=msgspec.json.encode(headers or {}).decode(),
        TRANSPORT=transport,
        TICKET=ticket,
    )
    return seen


async def command(
    http: httpx.AsyncClient, address: str, thread_id: str, method: str, params: Any
) -> dict[str, Any]:
    """One command posted, its answer (any status)."""
    command = {"id": 1, "method": method, "params": params}
    response = await http.post(f"http://{address}/threads/{thread_id}/commands", json=command)
    answer: dict[str, Any] = response.json()
    answer["status"] = response.status_code
    return answer


async def events(
    http: httpx.AsyncClient, address: str, thread_id: str, body: dict[str, Any], until: int
) -> list[Envelope]:
    """A stream's first `until` events (or up to `lifecycle/completed`); then it is dropped."""
    url = f"http://{address}/threads/{thread_id}/stream/events"
    events: list[Envelope] = []
    with anyio.fail_after(30):
        async with http.stream("POST", url, json=body, timeout=20) as response:
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
                    if len(events) >= until or said(events[-1:]) == ["lifecycle/completed"]:
                        break
    return events


def text(events: list[dict[str, Any]]) -> str:
    """The text the reply's `content-block-delta` events carried."""
    return "".join(
        e["params"]["data"]["delta"]["text"]
        for e in events
        if e["method"] == "messages" and e["params"]["data"]["event"] == "content-block-delta"
    )


def said(events: list[dict[str, Any]]) -> list[str]:
    """Each event as `method/what`, runs of deltas as one."""
    said: list[str] = []
    for e in events:
        name = f"{e['method']}/{e['params']['data'].get('event', '')}".rstrip("/")
        if not (said and said[-1] == name == "messages/content-block-delta"):
            said.append(name)
    return said
