"""LangChain's thread event stream through `@langchain/langgraph-sdk`'s
`client.threads.stream` (run with node, over SSE and over the WebSocket) against a served
Threadline: runs, approvals and interrupts answered with `input.respond`, the thread shared
with `/ws`, other users. The wire itself (replay from `since`, bad input, two servers):
test_thread_events_wire.py."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from tests.credentials import api_keys, handshake
from tests.fake_groq import FakeGroq
from tests.interrupt_graphs import FORM
from tests.serving import serve_threadline
from tests.thread_events import command, said, stream, text
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_run_streams_what_fake_groq_said_and_goes_on_over_the_websocket(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        [first] = await stream(address, "th-1", {"do": "run", "text": "hello", "id": "m-1"})
        assert first["error"] is None, first
        events = first["events"]
        assert text(events) == "Reply 1: hello"
        assert said(events) == [
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
        [third] = await stream(address, "th-1", {"do": "run", "text": "back again"})
        assert text(third["events"]) == "Reply 3: back again", [
            (e["event_id"], said([e])) for e in third["events"]
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
        [asked] = await stream(address, "th-2", {"do": "run", "text": "what is 6 * 7?"})
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
        assert said(asked["events"])[-2:] == ["input.requested", "lifecycle/interrupted"]
        assert asked["interrupts"] == [call_id]
        answer = {"do": "respond", "interrupt_id": call_id, "response": approved}
        [answered] = await stream(address, "th-2", answer)
        assert answered["error"] is None, answered
        tools = [e["params"]["data"] for e in answered["events"] if e["method"] == "tools"]
        assert tools, said(answered["events"])
        assert tools[-1]["tool_call_id"] == call_id
        assert tools[-1]["event"] == ("tool-finished" if approved else "tool-error")
        assert text(answered["events"]) == f"Tools said: {result}", said(answered["events"])
        assert said(answered["events"])[-1] == "lifecycle/completed"
        async with connect(address, "local") as socket:
            history = await socket.history("th-2")
        assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]


TAKEN = "this conversation id is taken: choose another, unguessable id (a new UUID)"


async def test_another_users_thread_is_taken_and_otherwise_looks_missing(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        alice = {"X-Api-Key": (await keys.create("alice", user_id="alice", admin=False)).key}
        bob = {"X-Api-Key": (await keys.create("bob", user_id="bob", admin=False)).key}
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    run = {"input": {"messages": [{"type": "human", "content": "secret"}]}}
    async with serve_threadline(configured) as address:
        [mine] = await stream(address, "th-4", {"do": "run", "text": "secret"}, headers=alice)
        assert text(mine["events"]) == "Reply 1: secret"
        async with httpx.AsyncClient(headers=bob) as http:
            theirs = await command(http, address, "th-4", "run.start", run)
            answer = {"namespace": [], "interrupt_id": "x", "response": True}
            responded = await command(http, address, "th-4", "input.respond", answer)
            missing = await command(http, address, "th-5", "input.respond", answer)
            # Bob's stream of Alice's thread says nothing (as one of a thread not yet run).
            url = f"http://{address}/threads/th-4/stream/events"
            body = {"channels": ["messages", "lifecycle"], "since": 0}
            async with http.stream("POST", url, json=body) as response:
                assert response.status_code == 200
        # A thread id is global: a run.start on a taken one is refused, as LangGraph's
        # POST /threads does; an answer to another user's thread finds nothing.
        assert theirs == {
            "type": "error",
            "id": 1,
            "error": "invalid_argument",
            "code": "conversation_exists",
            "message": TAKEN,
            "status": 409,
        }
        assert responded == missing
        assert (missing["code"], missing["status"]) == ("conversation_not_found", 404)
        async with httpx.AsyncClient() as anonymous:
            refused = await command(anonymous, address, "th-4", "run.start", run)
            ticket = await anonymous.post(f"http://{address}/auth/ws-ticket", headers=bob)
        assert (refused["status"], refused["code"]) == (401, "unauthenticated")
        # Over the WebSocket, with a ticket as a browser sends it: the same answer.
        step = {"do": "run", "text": "let me in"}
        [socket] = await stream(
            address, "th-4", step, transport="websocket", ticket=ticket.json()["ticket"]
        )
        assert socket["events"] == []
        assert (socket["error"]["code"], socket["error"]["message"]) == (
            "invalid_argument",
            theirs["message"],
        )
        nobody = await handshake(address, "/threads/th-4/stream/events")
        assert (nobody.status_code, nobody.json()["code"]) == (401, "unauthenticated")


async def test_the_websocket_form_runs_and_the_thread_goes_on_over_sse(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        first, second = await stream(
            address,
            "th-7",
            {"do": "run", "text": "over the socket"},
            {"do": "run", "text": "and again"},
            transport="websocket",
        )
        assert first["error"] is None, first
        assert text(first["events"]) == "Reply 1: over the socket"
        assert said(first["events"])[-1] == "lifecycle/completed"
        assert text(second["events"]) == "Reply 2: and again"
        [third] = await stream(address, "th-7", {"do": "run", "text": "now over sse"})
        assert text(third["events"]) == "Reply 3: now over sse"


async def test_an_interrupt_of_ones_graph_is_answered_with_input_respond_over_the_socket(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    graph = msgspec.structs.replace(settings, graph="tests.interrupt_graphs:ask_dict")
    async with serve_threadline(graph) as address:
        [asked] = await stream(address, "th-8", {"do": "run", "text": "transfer $5 to bob"})
        requested = next(e for e in asked["events"] if e["method"] == "input.requested")
        interrupt_id = requested["params"]["data"]["interrupt_id"]
        assert requested["params"]["data"]["payload"] == FORM
        assert asked["interrupts"] == [interrupt_id]
        assert fake_groq.requests == []  # paused before the model was asked
        # A new client (a page reloaded) learns what the run waits for as it subscribes,
        # and answers it over the WebSocket form.
        answer = {"do": "respond", "interrupt_id": interrupt_id, "response": {"amount": 5}}
        [answered] = await stream(address, "th-8", answer, transport="websocket")
        assert answered["error"] is None, answered
        told = answered["events"][0]
        assert (told["method"], told["params"]["data"]["interrupt_id"]) == (
            "input.requested",
            interrupt_id,
        )
        assert said(answered["events"])[-1] == "lifecycle/completed"
        asked_model = fake_groq.requests[-1]["messages"][-1]["content"]
        assert asked_model == 'The user answered: {"amount": 5}'
        assert text(answered["events"]).startswith("Reply 1: ")
