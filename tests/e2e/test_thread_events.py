"""LangChain's thread event stream (`@langchain/langgraph-sdk`'s `client.threads.stream`,
run with node, over SSE and over the WebSocket) against a served Threadline's
`/threads/{thread_id}/commands` and `/threads/{thread_id}/stream/events`: runs, interrupts,
replay from `since`, the thread shared with `/ws`, other users, bad commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from tests.credentials import api_keys, handshake
from tests.fake_groq import FakeGroq, Fault
from tests.interrupt_graphs import FORM
from tests.nodejs import run_node
from tests.processes import servers
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

Step = dict[str, Any]
Envelope = dict[str, Any]
_JSON = {"Content-Type": "application/json"}
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


async def _command(
    http: httpx.AsyncClient, address: str, thread_id: str, method: str, params: Any
) -> dict[str, Any]:
    """One command posted, its answer (any status)."""
    command = {"id": 1, "method": method, "params": params}
    response = await http.post(f"http://{address}/threads/{thread_id}/commands", json=command)
    answer: dict[str, Any] = response.json()
    answer["status"] = response.status_code
    return answer


async def _events(
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
                    if len(events) >= until or _said(events[-1:]) == ["lifecycle/completed"]:
                        break
    return events


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
        assert tools, _said(answered["events"])
        assert tools[-1]["tool_call_id"] == call_id
        assert tools[-1]["event"] == ("tool-finished" if approved else "tool-error")
        assert _text(answered["events"]) == f"Tools said: {result}", _said(answered["events"])
        assert _said(answered["events"])[-1] == "lifecycle/completed"
        async with connect(address, "local") as socket:
            history = await socket.history("th-2")
        assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]


async def test_a_dropped_stream_replays_from_since_the_rest_of_the_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    text = "one two three four five six seven eight"
    fake_groq.faults.append(Fault(token_delay=0.15, only_for=text))
    wanted = {"channels": ["messages", "lifecycle"]}
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        started = await _command(
            http,
            address,
            "th-3",
            "run.start",
            {"input": {"messages": [{"type": "human", "content": text}]}},
        )
        assert started["type"] == "success", started
        first = await _events(http, address, "th-3", wanted, until=5)  # then dropped
        assert _said(first)[:2] == ["lifecycle/running", "messages/message-start"]
        since = first[-1]["seq"]
        rest = await _events(http, address, "th-3", {**wanted, "since": since}, until=100)
        assert _said(rest)[-1] == "lifecycle/completed"
        streamed = [e for e in rest if e["params"]["data"]["event"] == "content-block-delta"]
        assert all(e["seq"] > since for e in streamed)
        assert _text(first) + _text(rest) == f"Reply 1: {text}"
        # The same events keep their ids: a client drops what it had.
        assert not {e["event_id"] for e in streamed} & {e["event_id"] for e in first}
        # After the run, a stream resuming from any seq gets the reply's end from storage.
        late = await _events(http, address, "th-3", {**wanted, "since": since}, until=100)
        finish = next(e for e in late if e["params"]["data"]["event"] == "content-block-finish")
        assert finish["params"]["data"]["content"]["text"] == f"Reply 1: {text}"


async def test_another_users_thread_looks_missing(settings: Settings, database_url: str) -> None:
    async with api_keys(database_url) as keys:
        alice = {"X-Api-Key": (await keys.create("alice", user_id="alice", admin=False)).key}
        bob = {"X-Api-Key": (await keys.create("bob", user_id="bob", admin=False)).key}
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    run = {"input": {"messages": [{"type": "human", "content": "secret"}]}}
    async with serve_threadline(configured) as address:
        [mine] = await _stream(address, "th-4", {"do": "run", "text": "secret"}, headers=alice)
        assert _text(mine["events"]) == "Reply 1: secret"
        async with httpx.AsyncClient(headers=bob) as http:
            theirs = await _command(http, address, "th-4", "run.start", run)
            answer = {"namespace": [], "interrupt_id": "x", "response": True}
            responded = await _command(http, address, "th-4", "input.respond", answer)
            missing = await _command(http, address, "th-5", "input.respond", answer)
            # Bob's stream of Alice's thread says nothing (as one of a thread not yet run).
            url = f"http://{address}/threads/th-4/stream/events"
            body = {"channels": ["messages", "lifecycle"], "since": 0}
            async with http.stream("POST", url, json=body) as response:
                assert response.status_code == 200
        assert theirs == {
            "type": "error",
            "id": 1,
            "error": "invalid_argument",
            "code": "conversation_not_found",
            "message": "no conversation with this id exists for this user",
            "status": 404,
        }
        assert responded == missing == theirs
        async with httpx.AsyncClient() as anonymous:
            refused = await _command(anonymous, address, "th-4", "run.start", run)
            ticket = await anonymous.post(f"http://{address}/auth/ws-ticket", headers=bob)
        assert (refused["status"], refused["code"]) == (401, "unauthenticated")
        # Over the WebSocket, with a ticket as a browser sends it: the same answer.
        step = {"do": "run", "text": "let me in"}
        [socket] = await _stream(
            address, "th-4", step, transport="websocket", ticket=ticket.json()["ticket"]
        )
        assert socket["events"] == []
        assert (socket["error"]["code"], socket["error"]["message"]) == (
            "invalid_argument",
            theirs["message"],
        )
        nobody = await handshake(address, "/threads/th-4/stream/events")
        assert (nobody.status_code, nobody.json()["code"]) == (401, "unauthenticated")


async def test_bad_commands_get_the_protocols_error_with_threadlines_code(
    settings: Settings,
) -> None:
    too_long = "x" * (settings.max_message_bytes + 1)
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        url = f"http://{address}/threads/th-6"
        not_json = await http.post(f"{url}/commands", content=b"{", headers=_JSON)
        no_method = await http.post(f"{url}/commands", json={"id": 1}, headers=_JSON)
        hello = {"input": {"messages": [{"type": "human", "content": "hello"}]}}
        assert (await _command(http, address, "th-6", "run.start", hello))["type"] == "success"
        answers = [
            (method, await _command(http, address, "th-6", method, params))
            for method, params in [
                ("run.begin", {}),
                ("state.get", {}),
                ("run.start", {"input": {"messages": []}}),
                ("run.start", {"input": "hello"}),
                ("input.respond", {"interrupt_id": "nope", "response": 1}),
            ]
        ]
        large = await _command(
            http,
            address,
            "th-6",
            "run.start",
            {"input": {"messages": [{"type": "human", "content": too_long}]}},
        )
        stream = await http.post(f"{url}/stream/events", json={"channels": ["nope"]})
    for refused in (not_json, no_method):
        assert refused.status_code == 400
        assert refused.json()["type"] == "error"
        assert refused.json()["id"] is None
        assert (refused.json()["error"], refused.json()["code"]) == (
            "invalid_argument",
            "invalid_request",
        )
    assert [(m, a["error"], a["code"], a["status"]) for m, a in answers] == [
        ("run.begin", "unknown_command", "invalid_request", 400),
        ("state.get", "not_supported", "not_supported", 400),
        ("run.start", "invalid_argument", "invalid_request", 400),
        ("run.start", "invalid_argument", "invalid_request", 400),
        ("input.respond", "no_such_interrupt", "nothing_to_approve", 404),
    ]
    assert (large["status"], large["code"]) == (413, "message_too_large")
    assert (stream.status_code, stream.json()["error"]) == (400, "invalid_argument")
    assert "nope" in stream.json()["message"]


async def test_the_websocket_form_runs_and_the_thread_goes_on_over_sse(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        first, second = await _stream(
            address,
            "th-7",
            {"do": "run", "text": "over the socket"},
            {"do": "run", "text": "and again"},
            transport="websocket",
        )
        assert first["error"] is None, first
        assert _text(first["events"]) == "Reply 1: over the socket"
        assert _said(first["events"])[-1] == "lifecycle/completed"
        assert _text(second["events"]) == "Reply 2: and again"
        [third] = await _stream(address, "th-7", {"do": "run", "text": "now over sse"})
        assert _text(third["events"]) == "Reply 3: now over sse"


async def test_an_interrupt_of_ones_graph_is_answered_with_input_respond_over_the_socket(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    graph = msgspec.structs.replace(settings, graph="tests.interrupt_graphs:ask_dict")
    async with serve_threadline(graph) as address:
        [asked] = await _stream(address, "th-8", {"do": "run", "text": "transfer $5 to bob"})
        requested = next(e for e in asked["events"] if e["method"] == "input.requested")
        interrupt_id = requested["params"]["data"]["interrupt_id"]
        assert requested["params"]["data"]["payload"] == FORM
        assert asked["interrupts"] == [interrupt_id]
        assert fake_groq.requests == []  # paused before the model was asked
        # A new client (a page reloaded) learns what the run waits for as it subscribes,
        # and answers it over the WebSocket form.
        answer = {"do": "respond", "interrupt_id": interrupt_id, "response": {"amount": 5}}
        [answered] = await _stream(address, "th-8", answer, transport="websocket")
        assert answered["error"] is None, answered
        told = answered["events"][0]
        assert (told["method"], told["params"]["data"]["interrupt_id"]) == (
            "input.requested",
            interrupt_id,
        )
        assert _said(answered["events"])[-1] == "lifecycle/completed"
        said = fake_groq.requests[-1]["messages"][-1]["content"]
        assert said == 'The user answered: {"amount": 5}'
        assert _text(answered["events"]).startswith("Reply 1: ")


@pytest.mark.usefixtures("one_at_a_time")  # two server processes
async def test_a_stream_dropped_on_one_server_replays_from_since_on_another(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    text = " ".join(f"word{i}" for i in range(20))
    fake_groq.default = Fault(token_delay=0.1)
    wanted = {"channels": ["messages", "lifecycle"]}
    run = {"input": {"messages": [{"type": "human", "content": text}]}}
    async with (
        servers(tmp_path, database_url, fake_groq.url, 2) as (one, two),
        httpx.AsyncClient() as http,
    ):
        started = await _command(http, one.address, "th-9", "run.start", run)
        assert started["type"] == "success", started
        first = await _events(http, one.address, "th-9", wanted, until=6)
        since = first[-1]["seq"]
        rest = await _events(http, two.address, "th-9", {**wanted, "since": since}, until=200)
        assert _said(rest)[-1] == "lifecycle/completed"
        assert _text(first) + _text(rest) == f"Reply 1: {text}"
        # A stream on the second server gets the thread's next run, started on the first.
        again = {"input": {"messages": [{"type": "human", "content": "again"}]}}
        url = f"http://{two.address}/threads/th-9/stream/events"
        events: list[Envelope] = []
        with anyio.fail_after(30):
            async with http.stream("POST", url, json=wanted, timeout=30) as response:
                lines = response.aiter_lines()
                started = await _command(http, one.address, "th-9", "run.start", again)
                assert started["type"] == "success"
                async for line in lines:
                    if line.startswith("data: "):
                        events.append(json.loads(line.removeprefix("data: ")))
                        if _said(events[-1:]) == ["lifecycle/completed"]:
                            break
        assert _text(events) == "Reply 2: again"


async def test_bad_messages_on_the_socket_are_answered_and_it_goes_on(settings: Settings) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient() as http,
        aconnect_ws(
            f"ws://{address}/threads/th-10/stream/events",
            http,
            session_class=AsyncWebSocketSession,
        ) as ws,
    ):

        async def ask(text: str) -> dict[str, Any]:
            await ws.send_text(text)
            with anyio.fail_after(10):
                while True:
                    answer: dict[str, Any] = json.loads(await ws.receive_text())
                    if answer["type"] != "event":
                        return answer

        not_json = await ask("{")
        unknown = await ask(
            json.dumps(
                {
                    "id": 2,
                    "method": "subscription.unsubscribe",
                    "params": {"subscription_id": "sub-9"},
                }
            )
        )
        bad_channel = await ask(
            json.dumps(
                {"id": 3, "method": "subscription.subscribe", "params": {"channels": ["nope"]}}
            )
        )
        subscribed = await ask(
            json.dumps(
                {
                    "id": 4,
                    "method": "subscription.subscribe",
                    "params": {"channels": ["messages", "lifecycle"]},
                }
            )
        )
        run = {"input": {"messages": [{"type": "human", "content": "still here"}]}}
        started = await ask(json.dumps({"id": 5, "method": "run.start", "params": run}))
        events: list[Envelope] = []
        with anyio.fail_after(20):
            while _said(events[-1:]) != ["lifecycle/completed"]:
                events.append(json.loads(await ws.receive_text()))
    assert (not_json["id"], not_json["error"], not_json["code"]) == (
        None,
        "invalid_argument",
        "invalid_request",
    )
    assert (unknown["id"], unknown["error"]) == (2, "no_such_subscription")
    assert (bad_channel["id"], bad_channel["error"]) == (3, "invalid_argument")
    assert subscribed == {"type": "success", "id": 4, "result": {"subscription_id": "sub-1"}}
    assert started["type"] == "success"
    assert _text(events) == "Reply 1: still here"
