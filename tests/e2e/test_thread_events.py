"""LangChain's thread event stream (`@langchain/langgraph-sdk`'s `client.threads.stream`,
run with node, over SSE and over the WebSocket) against a served Threadline's
`/threads/{thread_id}/commands` and `/threads/{thread_id}/stream/events`: runs, interrupts,
replay from `since`, the thread shared with `/ws`, other users, bad commands."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.nodejs import run_node
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

Step = dict[str, Any]
Seen = dict[str, Any]


async def _stream(
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


def _text(events: list[dict[str, Any]]) -> str:
    """The text the reply's `content-block-delta` events carried."""
    return "".join(
        e["params"]["data"]["delta"]["text"]
        for e in events
        if e["method"] == "messages" and e["params"]["data"]["event"] == "content-block-delta"
    )


def _said(events: list[dict[str, Any]]) -> list[str]:
    """Each event as `method/what`, runs of deltas as one."""
    said: list[str] = []
    for e in events:
        name = f"{e['method']}/{e['params']['data'].get('event', '')}".rstrip("/")
        if not (said and said[-1] == name == "messages/content-block-delta"):
            said.append(name)
    return said


async def test_a_run_streams_what_fake_groq_said_and_goes_on_over_the_websocket(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        [first] = await _stream(address, "th-1", {"do": "run", "text": "hello", "id": "m-1"})
        assert first["error"] is None, first
        events = first["events"]
        assert _text(events) == "Reply 1: hello"
        assert _said(events) == [
            "lifecycle/running",
            "messages/message-start",
            "messages/content-block-start",
            "messages/content-block-delta",
            "messages/content-block-finish",
            "messages/message-finish",
            "lifecycle/completed",
        ]
        finish = next(e for e in events if e["params"]["data"]["event"] == "content-block-finish")
        assert finish["params"]["data"]["content"] == {"type": "text", "text": "Reply 1: hello"}
        assert first["result"]["run_id"] == events[1]["params"]["data"]["id"]
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs)
        assert seqs[0] == 0
        assert len({e["event_id"] for e in events}) == len(events)
        async with connect(address, "local") as socket:
            history = await socket.history("th-1")
            assert [(m["role"], m["content"]) for m in history] == [
                ("user", "hello"),
                ("assistant", "Reply 1: hello"),
            ]
            assert history[0]["client_message_id"] == "m-1"
            turn = await socket.turn("and on the socket", "th-1")
            assert turn.reply["content"] == "Reply 2: and on the socket"
        [third] = await _stream(address, "th-1", {"do": "run", "text": "back again"})
        assert _text(third["events"]) == "Reply 3: back again", [
            (e["event_id"], _said([e])) for e in third["events"]
        ]


@pytest.mark.parametrize(
    ("approved", "result"), [(True, "6 * 7 = 42"), (False, "the user denied this call")]
)
async def test_an_approval_is_asked_and_answered_with_input_respond(
    settings: Settings, fake_groq: FakeGroq, approved: bool, result: str
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address:
        [asked] = await _stream(address, "th-2", {"do": "run", "text": "what is 6 * 7?"})
        assert asked["error"] is None, asked
        requested = next(e for e in asked["events"] if e["method"] == "input.requested")
        call_id = requested["params"]["data"]["interrupt_id"]
        payload = requested["params"]["data"]["payload"]
        assert (payload["kind"], payload["name"], payload["args"]) == (
            "approval",
            "calculator",
            {"expression": "6 * 7"},
        )
        assert payload["tool_call_id"] == call_id
        assert _said(asked["events"])[-2:] == ["input.requested", "lifecycle/interrupted"]
        assert asked["interrupts"] == [call_id]
        answer = {"do": "respond", "interrupt_id": call_id, "response": approved}
        [answered] = await _stream(address, "th-2", answer)
        assert answered["error"] is None, answered
        tools = [e["params"]["data"] for e in answered["events"] if e["method"] == "tools"]
        assert tools[-1]["tool_call_id"] == call_id
        assert tools[-1]["event"] == ("tool-finished" if approved else "tool-error")
        assert _text(answered["events"]) == f"Tools said: {result}"
        assert _said(answered["events"])[-1] == "lifecycle/completed"
        async with connect(address, "local") as socket:
            history = await socket.history("th-2")
        assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
