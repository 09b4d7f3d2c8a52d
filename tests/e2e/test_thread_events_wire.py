"""LangChain's thread event stream on the wire (raw HTTP and WebSocket): replay from
`since` after a dropped stream, on the same server or another, and bad input answered
with the protocol's error and Threadline's code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from tests.fake_groq import FakeGroq, Fault
from tests.processes import servers
from tests.serving import serve_threadline
from tests.thread_events import Envelope, command, events, said, text
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

_JSON = {"Content-Type": "application/json"}


async def test_a_dropped_stream_replays_from_since_the_rest_of_the_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    words = "one two three four five six seven eight"
    fake_groq.faults.append(Fault(token_delay=0.15, only_for=words))
    wanted = {"channels": ["messages", "lifecycle"]}
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        started = await command(
            http,
            address,
            "th-3",
            "run.start",
            {"input": {"messages": [{"type": "human", "content": words}]}},
        )
        assert started["type"] == "success", started
        first = await events(http, address, "th-3", wanted, until=5)  # then dropped
        assert said(first)[:2] == ["lifecycle/running", "messages/message-start"]
        since = first[-1]["seq"]
        rest = await events(http, address, "th-3", {**wanted, "since": since}, until=100)
        assert said(rest)[-1] == "lifecycle/completed"
        streamed = [e for e in rest if e["params"]["data"]["event"] == "content-block-delta"]
        assert all(e["seq"] > since for e in streamed)
        assert text(first) + text(rest) == f"Reply 1: {words}"
        # The same events keep their ids: a client drops what it had.
        assert not {e["event_id"] for e in streamed} & {e["event_id"] for e in first}
        # After the run, a stream resuming from any seq gets the reply's end from storage.
        late = await events(http, address, "th-3", {**wanted, "since": since}, until=100)
        finish = next(e for e in late if e["params"]["data"]["event"] == "content-block-finish")
        assert finish["params"]["data"]["content"]["text"] == f"Reply 1: {words}"


async def test_bad_commands_get_the_protocols_error_with_threadlines_code(
    settings: Settings,
) -> None:
    too_long = "x" * (settings.max_message_bytes + 1)
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        url = f"http://{address}/threads/th-6"
        not_json = await http.post(f"{url}/commands", content=b"{", headers=_JSON)
        no_method = await http.post(f"{url}/commands", json={"id": 1}, headers=_JSON)
        hello = {"input": {"messages": [{"type": "human", "content": "hello"}]}}
        assert (await command(http, address, "th-6", "run.start", hello))["type"] == "success"
        answers = [
            (method, await command(http, address, "th-6", method, params))
            for method, params in [
                ("run.begin", {}),
                ("state.get", {}),
                ("run.start", {"input": {"messages": []}}),
                ("run.start", {"input": "hello"}),
                ("input.respond", {"interrupt_id": "nope", "response": 1}),
            ]
        ]
        large = await command(
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


@pytest.mark.usefixtures("one_at_a_time")  # two server processes
async def test_a_stream_dropped_on_one_server_replays_from_since_on_another(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    words = " ".join(f"word{i}" for i in range(20))
    fake_groq.default = Fault(token_delay=0.1)
    wanted = {"channels": ["messages", "lifecycle"]}
    run = {"input": {"messages": [{"type": "human", "content": words}]}}
    async with (
        servers(tmp_path, database_url, fake_groq.url, 2) as (one, two),
        httpx.AsyncClient() as http,
    ):
        started = await command(http, one.address, "th-9", "run.start", run)
        assert started["type"] == "success", started
        first = await events(http, one.address, "th-9", wanted, until=6)
        since = first[-1]["seq"]
        rest = await events(http, two.address, "th-9", {**wanted, "since": since}, until=200)
        assert said(rest)[-1] == "lifecycle/completed"
        assert text(first) + text(rest) == f"Reply 1: {words}"
        # A stream on the second server gets the thread's next run, started on the first.
        again = {"input": {"messages": [{"type": "human", "content": "again"}]}}
        url = f"http://{two.address}/threads/th-9/stream/events"
        seen: list[Envelope] = []
        with anyio.fail_after(30):
            async with http.stream("POST", url, json=wanted, timeout=30) as response:
                lines = response.aiter_lines()
                started = await command(http, one.address, "th-9", "run.start", again)
                assert started["type"] == "success"
                async for line in lines:
                    if line.startswith("data: "):
                        seen.append(json.loads(line.removeprefix("data: ")))
                        if said(seen[-1:]) == ["lifecycle/completed"]:
                            break
        assert text(seen) == "Reply 2: again"


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
        seen: list[Envelope] = []
        with anyio.fail_after(20):
            while said(seen[-1:]) != ["lifecycle/completed"]:
                seen.append(json.loads(await ws.receive_text()))
    assert (not_json["id"], not_json["error"], not_json["code"]) == (
        None,
        "invalid_argument",
        "invalid_request",
    )
    assert (unknown["id"], unknown["error"]) == (2, "no_such_subscription")
    assert (bad_channel["id"], bad_channel["error"]) == (3, "invalid_argument")
    assert subscribed == {"type": "success", "id": 4, "result": {"subscription_id": "sub-1"}}
    assert started["type"] == "success"
    assert text(seen) == "Reply 1: still here"
