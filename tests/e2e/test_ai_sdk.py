"""The Vercel AI SDK's chat (the `ai` package from npm, run with node: `AbstractChat`, as
`useChat` drives it, over `DefaultChatTransport`) against a served Threadline's
`/ai-sdk/chat`: replies, resends, regenerate, resume, stop, tools, approvals, other users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.credentials import api_keys
from tests.documents import indexed, upload
from tests.fake_groq import FakeGroq, Fault
from tests.nodejs import run_node
from tests.processes import servers
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

Step = dict[str, Any]


async def _chat(
    address: str,
    chat_id: str,
    *steps: Step,
    headers: dict[str, str] | None = None,
    messages: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """What the SDK's chat saw after each step (messages, status, error, chunks)."""
    seen: list[dict[str, Any]] = await run_node(
        "ai_sdk_chat.mjs",
        THREADLINE_URL=f"http://{address}",
        CHAT_ID=chat_id,
        STEPS=msgspec.json.encode(steps).decode(),
        HEADERS=msgspec.json.encode(headers or {}).decode(),
        MESSAGES=msgspec.json.encode(messages or []).decode(),
    )
    return seen


def _text(message: dict[str, Any]) -> str:
    return "".join(p["text"] for p in message["parts"] if p["type"] == "text")


def _types(seen: dict[str, Any]) -> list[str]:
    """The chunk types one step received, runs of text deltas as one."""
    types: list[str] = []
    for chunk in seen["chunks"]:
        if not (chunk["type"] == "text-delta" and types and types[-1] == "text-delta"):
            types.append(chunk["type"])
    return types


async def test_a_reply_streams_as_fake_groq_said_it_and_goes_on_over_the_websocket(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        [sent] = await _chat(address, "chat-1", {"do": "send", "text": "hello", "id": "m-1"})
        assert (sent["status"], sent["error"]) == ("ready", None)
        user, reply = sent["messages"]
        assert (user["id"], user["role"], _text(user)) == ("m-1", "user", "hello")
        assert (reply["role"], _text(reply)) == ("assistant", "Reply 1: hello")
        assert _types(sent) == [
            "start",
            "start-step",
            "text-start",
            "text-delta",
            "text-end",
            "data-context",
            "finish-step",
            "finish",
        ]
        context = next(p for p in reply["parts"] if p["type"] == "data-context")
        assert context["data"]["messages_total"] == 2
        # The chat is a conversation of `local` (AUTH_MODE=none): it goes on over the socket.
        async with connect(address, "local") as socket:
            history = await socket.history("chat-1")
            assert [(m["role"], m["content"]) for m in history] == [
                ("user", "hello"),
                ("assistant", "Reply 1: hello"),
            ]
            assert history[0]["client_message_id"] == "m-1"
            assert history[1]["message_id"] == reply["id"]
            turn = await socket.turn("and now?", "chat-1")
            assert turn.reply["content"] == "Reply 2: and now?"

        # The SDK's list, with the socket's messages as history shows them, goes on too.
        def message(message_id: str, role: str, text: str) -> dict[str, Any]:
            return {"id": message_id, "role": role, "parts": [{"type": "text", "text": text}]}

        loaded = [
            *sent["messages"],
            message(turn.ack["message_id"], "user", "and now?"),
            message(turn.reply["message_id"], "assistant", turn.reply["content"]),
        ]
        [later] = await _chat(address, "chat-1", {"do": "send", "text": "third"}, messages=loaded)
        assert (later["error"], _text(later["messages"][-1])) == (None, "Reply 3: third")
        # A list naming a user message the conversation never had contradicts it.
        invented = [*loaded[:2], message("invented", "user", "?"), *loaded[2:]]
        [refused] = await _chat(address, "chat-1", {"do": "send", "text": "4"}, messages=invented)
        assert refused["error"].startswith("history_mismatch: ")


def _body(chat_id: str, *texts: tuple[str, str]) -> dict[str, Any]:
    """What `DefaultChatTransport` posts for a chat whose user messages are `texts`."""
    messages = [
        {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}
        for message_id, text in texts
    ]
    return {"id": chat_id, "messages": messages, "trigger": "submit-message"}


async def _post(
    address: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """POST /ai-sdk/chat; the response and its chunks (up to `data: [DONE]`)."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"http://{address}/ai-sdk/chat", json=body, headers=headers)
    return response, _chunks(response.text)


def _chunks(text: str) -> list[dict[str, Any]]:
    data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    assert data, text
    assert data[-1] == "[DONE]", text
    return [msgspec.json.decode(d) for d in data[:-1]]


def _streamed(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["delta"] for c in chunks if c["type"] == "text-delta")


async def test_a_failed_turn_is_an_error_chunk_with_its_code_and_the_chat_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(status=400))
    async with serve_threadline(settings) as address:
        failed, retried = await _chat(
            address,
            "chat-13",
            {"do": "send", "text": "first try"},
            {"do": "send", "text": "second try"},
        )
    assert failed["status"] == "error"
    assert failed["error"] == "llm_error: the model provider answered HTTP 400"
    assert [c["type"] for c in failed["chunks"]] == ["start", "error"]
    assert failed["chunks"][-1]["errorText"] == failed["error"]
    assert (retried["status"], retried["error"]) == ("ready", None)
    assert _text(retried["messages"][-1]) == "Reply 2: second try"
    # The failed turn's message was kept: the model sees it on the next turn.
    assert fake_groq.user_turns()[1:] == ["user: first try", "user: second try"]


async def test_a_resent_message_is_stored_once_and_answered_with_the_stored_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        body = _body("chat-2", ("m-1", "hello"))
        first, chunks = await _post(address, body)
        assert first.headers["x-vercel-ai-ui-message-stream"] == "v1"
        assert first.headers["content-type"].startswith("text/event-stream")
        # The SDK's transport posting the same message twice more (a retrying client).
        again, once_more = await run_node(
            "ai_sdk_read.mjs",
            THREADLINE_URL=f"http://{address}",
            CHAT_ID="chat-2",
            MESSAGES=msgspec.json.encode(body["messages"]).decode(),
            TIMES="2",
        )
        async with connect(address, "local") as socket:
            history = await socket.history("chat-2")
    assert _streamed(chunks) == "Reply 1: hello"
    # The same message: the stored reply, under its own id, and no second model call.
    assert again == once_more
    assert again["id"] == chunks[0]["messageId"] == history[1]["message_id"]
    assert [p["text"] for p in again["parts"] if p["type"] == "text"] == ["Reply 1: hello"]
    assert len(fake_groq.requests) == 1
    assert [m["role"] for m in history] == ["user", "assistant"]


async def test_regenerate_replaces_the_last_reply(settings: Settings) -> None:
    async with serve_threadline(settings) as address:
        sent, again = await _chat(
            address, "chat-3", {"do": "send", "text": "hi"}, {"do": "regenerate"}
        )
        assert _text(sent["messages"][-1]) == "Reply 1: hi"
        assert [m["role"] for m in again["messages"]] == ["user", "assistant"]
        assert _text(again["messages"][-1]) == "Reply 2: hi"
        assert again["messages"][-1]["id"] != sent["messages"][-1]["id"]
        async with connect(address, "local") as socket:
            history = await socket.history("chat-3")
        assert [(m["role"], m["content"]) for m in history] == [
            ("user", "hi"),
            ("assistant", "Reply 2: hi"),
        ]


async def test_a_dropped_stream_leaves_the_reply_running_and_resume_replays_it_whole(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    text = "one two three four five six seven eight"
    fake_groq.faults.append(Fault(token_delay=0.15, only_for=text))
    async with serve_threadline(settings) as address:
        dropped, resumed, after = await _chat(
            address,
            "chat-4",
            {"do": "send", "text": text, "dropAfter": 2},
            {"do": "resume"},
            {"do": "resume"},
        )
        # stop() only drops the connection: the SDK keeps what it had, the turn goes on.
        assert dropped["status"] == "ready"
        partial = _text(dropped["messages"][-1])
        assert partial
        assert len(partial) < len(f"Reply 1: {text}")
        # The resume replays the reply from its start (the SDK resets the message).
        assert resumed["chunks"][0]["type"] == "start"
        assert resumed["chunks"][0]["messageId"] == dropped["messages"][-1]["id"]
        assert [m["role"] for m in resumed["messages"]] == ["user", "assistant"]
        assert _text(resumed["messages"][-1]) == f"Reply 1: {text}"
        # Once it ended, nothing runs: 204, and the chat stays as it is.
        assert after["chunks"] == []
        assert after["status"] == "ready"
        assert _text(after["messages"][-1]) == f"Reply 1: {text}"
    assert len(fake_groq.requests) == 1


async def test_the_stop_endpoint_keeps_the_partial_reply_and_the_stream_says_abort(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    text = "please talk slowly for a while"
    fake_groq.faults.append(Fault(token_delay=0.3, only_for=text))
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(timeout=30) as http,
        http.stream(
            "POST", f"http://{address}/ai-sdk/chat", json=_body("chat-5", ("m", text))
        ) as streaming,
    ):
        lines = streaming.aiter_lines()
        chunks: list[dict[str, Any]] = []
        async for line in lines:
            if line.startswith("data:"):
                chunks.append(msgspec.json.decode(line[5:]))
            if [c["type"] for c in chunks].count("text-delta") == 2:
                break
        stopped = await http.post(f"http://{address}/ai-sdk/chat/chat-5/stop")
        assert stopped.status_code == 200, stopped.text
        kept = stopped.json()
        async for line in lines:
            if line.startswith("data:") and line != "data: [DONE]":
                chunks.append(msgspec.json.decode(line[5:]))
        again = await http.post(f"http://{address}/ai-sdk/chat/chat-5/stop")
    assert kept["stopped"] is True
    assert kept["content"] == _streamed(chunks)
    assert kept["content"].startswith("Reply 1:")
    assert len(kept["content"]) < len(f"Reply 1: {text}")
    assert [c["type"] for c in chunks[-3:]] == ["text-end", "finish-step", "abort"]
    assert chunks[0] == {"type": "start", "messageId": kept["message_id"]}
    assert (again.status_code, again.json()["code"]) == (409, "nothing_to_stop")


async def test_a_tool_call_and_its_result_are_a_dynamic_tool_part_then_a_new_step(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    async with serve_threadline(settings) as address:
        [sent] = await _chat(address, "chat-6", {"do": "send", "text": "what is 6 * 7?"})
    assert sent["error"] is None
    assert _types(sent) == [
        "start",
        "start-step",
        "tool-input-start",
        "tool-input-available",
        "tool-output-available",
        "finish-step",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "data-context",
        "finish-step",
        "finish",
    ]
    reply = sent["messages"][-1]
    tool = next(p for p in reply["parts"] if p["type"] == "dynamic-tool")
    assert (tool["toolName"], tool["state"]) == ("calculator", "output-available")
    assert (tool["input"], tool["output"]) == ({"expression": "6 * 7"}, "6 * 7 = 42")
    assert _text(reply) == "Tools said: 6 * 7 = 42"


@pytest.mark.parametrize(
    ("approved", "outcome", "result"),
    [
        (True, {"state": "output-available", "output": "6 * 7 = 42"}, "6 * 7 = 42"),
        (
            False,
            {"state": "output-error", "errorText": "the user denied this call"},
            "the user denied this call",
        ),
    ],
)
async def test_an_approval_is_asked_and_answered_with_add_tool_approval_response(
    settings: Settings,
    fake_groq: FakeGroq,
    approved: bool,
    outcome: dict[str, str],
    result: str,
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address:
        asked, answered = await _chat(
            address,
            "chat-7",
            {"do": "send", "text": "what is 6 * 7?"},
            {"do": "approve", "approved": approved},
        )
        async with connect(address, "local") as socket:
            history = await socket.history("chat-7")
    assert asked["error"] is None
    waiting = next(p for p in asked["messages"][-1]["parts"] if p["type"] == "dynamic-tool")
    assert waiting["state"] == "approval-requested"
    assert waiting["approval"] == {"id": waiting["toolCallId"]}
    assert asked["chunks"][-1] == {"type": "finish", "finishReason": "tool-calls"}
    assert len(fake_groq.requests) == 2  # answered, then the model said what the tool said
    assert answered["error"] is None
    # The run goes on in the message that asked: the call is not told twice.
    assert _types(answered) == [
        "start",
        "tool-output-available" if approved else "tool-output-error",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "data-context",
        "finish-step",
        "finish",
    ]
    assert answered["chunks"][0]["messageId"] == asked["messages"][-1]["id"]
    reply = answered["messages"][-1]
    assert [m["role"] for m in answered["messages"]] == ["user", "assistant"]
    done = next(p for p in reply["parts"] if p["type"] == "dynamic-tool")
    assert {key: done[key] for key in outcome} == outcome
    assert _text(reply) == f"Tools said: {result}"
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]


async def test_another_users_chat_id_is_taken_and_otherwise_looks_missing(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        alice = {"X-Api-Key": (await keys.create("alice", user_id="alice", admin=False)).key}
        bob = {"X-Api-Key": (await keys.create("bob", user_id="bob", admin=False)).key}
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        [mine] = await _chat(address, "chat-8", {"do": "send", "text": "secret"}, headers=alice)
        assert _text(mine["messages"][-1]) == "Reply 1: secret"
        [theirs] = await _chat(address, "chat-8", {"do": "send", "text": "let me in"}, headers=bob)
        assert theirs["status"] == "error"
        # A chat id is a thread id, global: a taken one is refused, as LangGraph does.
        assert theirs["error"].startswith("conversation_exists: ")
        for path in ("/ai-sdk/chat/{}/stream", "/ai-sdk/chat/{}/stop"):
            method = "GET" if path.endswith("stream") else "POST"
            foreign = await http.request(
                method, f"http://{address}{path.format('chat-8')}", headers=bob
            )
            missing = await http.request(
                method, f"http://{address}{path.format('nope')}", headers=bob
            )
            assert foreign.status_code == missing.status_code == 404
            assert foreign.json() == missing.json()
            assert foreign.json()["code"] == "conversation_not_found"
        anonymous = await http.post(
            f"http://{address}/ai-sdk/chat", json=_body("chat-9", ("m", "hi"))
        )
        assert anonymous.status_code == 401
        # Alice's chat is untouched, and bob has none.
        listed = await http.get(f"http://{address}/users/bob/conversations", headers=bob)
        assert listed.json()["items"] == []
        [again] = await _chat(address, "chat-8", {"do": "resume"}, headers=alice)
        assert again["chunks"] == []


async def test_bad_input_gets_a_4xx_with_a_clear_code_and_stores_nothing(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    def user(*parts: dict[str, Any], message_id: str = "m") -> dict[str, Any]:
        return {"id": message_id, "role": "user", "parts": list(parts)}

    text = {"type": "text", "text": "hi"}
    refused = [
        ({}, 400, "invalid_request"),
        ({"id": "chat-10", "messages": []}, 400, "invalid_request"),
        ({"id": "chat 10", "messages": [user(text)]}, 400, "invalid_request"),
        ({"id": "chat-10", "messages": [user(text)], "trigger": "bogus"}, 400, "invalid_request"),
        (
            {"id": "chat-10", "messages": [{"id": "m", "role": "robot", "parts": []}]},
            400,
            "invalid_request",
        ),
        (
            {
                "id": "chat-10",
                "messages": [user({"type": "file", "url": "data:,x", "mediaType": "text/plain"})],
            },
            422,
            "unsupported_part",
        ),
        (
            {"id": "chat-10", "messages": [user({"type": "text", "text": "  "})]},
            422,
            "invalid_request",
        ),
        (
            {
                "id": "chat-10",
                "messages": [
                    user({"type": "text", "text": "x" * (settings.max_message_bytes + 1)})
                ],
            },
            413,
            "message_too_large",
        ),
        (
            {"id": "chat-10", "messages": [{"id": "a", "role": "assistant", "parts": [text]}]},
            422,
            "invalid_request",
        ),
    ]
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        for body, status, code in refused:
            response = await http.post(f"http://{address}/ai-sdk/chat", json=body)
            assert (response.status_code, response.json()["code"]) == (status, code), body
            assert response.json()["detail"]
        not_json = await http.post(
            f"http://{address}/ai-sdk/chat",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_request")
        # Well-formed, but not what the conversation holds: the protocol's `error` chunk.
        _, mismatch = await _post(address, _body("chat-10", ("never-sent", "a"), ("m", "b")))
        assert mismatch == [{"type": "error", "errorText": mismatch[0]["errorText"]}]
        assert mismatch[0]["errorText"].startswith("history_mismatch: ")
        regenerate = {**_body("chat-10", ("m", "hi")), "trigger": "regenerate-message"}
        _, nothing = await _post(address, regenerate)
        assert nothing[0]["errorText"].startswith("conversation_not_found: ")
        listed = await http.get(f"http://{address}/users/local/conversations")
        assert listed.json()["items"] == []
        # An approval answered where nothing waits.
        await _post(address, _body("chat-10", ("m", "hi")))
        answer = {
            "id": "chat-10",
            "trigger": "submit-message",
            "messages": [
                user(text),
                {
                    "id": "a",
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "dynamic-tool",
                            "toolName": "calculator",
                            "toolCallId": "call_x",
                            "state": "approval-responded",
                            "input": {},
                            "approval": {"id": "call_x", "approved": True},
                        }
                    ],
                },
            ],
        }
        _, unasked = await _post(address, answer)
        assert unasked[0]["errorText"].startswith("nothing_to_approve: ")
    assert len(fake_groq.requests) == 1


async def test_a_cited_document_is_a_source_document_part(settings: Settings) -> None:
    offline = msgspec.structs.replace(settings, groq_api_key=None)
    question = "How many litres per minute does the K7 pump move?"
    manual = b"# Pump manual\n\nThe K7 pump moves at most 42 litres of water per minute.\n"
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        response = await upload(http, "/users/local/documents", "pumps.md", manual)
        document_id = response.json()["document_id"]
        await indexed(http, f"/users/local/documents/{document_id}")
        [sent] = await _chat(address, "chat-11", {"do": "send", "text": question})
    reply = sent["messages"][-1]
    [source] = [p for p in reply["parts"] if p["type"] == "source-document"]
    assert (source["sourceId"], source["title"]) == (document_id, "pumps.md")
    [passage] = source["providerMetadata"]["threadline"]["passages"]
    assert "42 litres of water per minute" in passage["text"]
    assert 0 < passage["score"] <= 1


@pytest.mark.usefixtures("one_at_a_time")  # two server processes
async def test_a_reply_dropped_on_one_server_resumes_and_stops_on_another(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    text = " ".join(f"word{i}" for i in range(30))
    fake_groq.default = Fault(token_delay=0.1)
    async with servers(tmp_path, database_url, fake_groq.url, 2) as (one, two):
        [dropped] = await _chat(
            one.address, "chat-12", {"do": "send", "text": text, "dropAfter": 2}
        )
        [resumed] = await _chat(
            two.address, "chat-12", {"do": "resume"}, messages=dropped["messages"]
        )
        assert _text(resumed["messages"][-1]) == f"Reply 1: {text}"
        assert resumed["messages"][-1]["id"] == dropped["messages"][-1]["id"]

        again = " ".join(f"again{i}" for i in range(30))
        [cut] = await _chat(
            one.address,
            "chat-12",
            {"do": "send", "text": again, "dropAfter": 1},
            messages=resumed["messages"],
        )
        stopped, after = await _chat(
            two.address,
            "chat-12",
            {"do": "stopEndpoint"},
            {"do": "resume"},
            messages=cut["messages"],
        )
        history = await http_get(one.address, "/users/local/conversations/chat-12")
    assert stopped["answer"]["status"] == 200
    kept = stopped["answer"]["body"]
    assert kept["stopped"] is True
    assert kept["content"].startswith("Reply 2:")
    assert len(kept["content"]) < len(f"Reply 2: {again}")
    assert after["chunks"] == []  # nothing runs any more
    stored = history["messages"][-1]
    assert (stored["message_id"], stored["content"], stored["stopped"]) == (
        kept["message_id"],
        kept["content"],
        True,
    )


async def http_get(address: str, path: str) -> Any:
    """GET `path` of the server at `address`, as JSON."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}{path}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_approval_answered_under_another_id_is_refused_and_still_waits(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    asked = _body("chat-13", ("m", "what is 6 * 7?"))
    async with serve_threadline(approving) as address:
        _, chunks = await _post(address, asked)
        [request] = [c for c in chunks if c["type"] == "tool-approval-request"]

        def answer(approval_id: str) -> dict[str, Any]:
            part = {
                "type": "dynamic-tool",
                "toolName": "calculator",
                "toolCallId": request["toolCallId"],
                "state": "approval-responded",
                "input": {"expression": "6 * 7"},
                "approval": {"id": approval_id, "approved": True},
            }
            reply = {"id": "a", "role": "assistant", "parts": [part]}
            return {**asked, "messages": [*asked["messages"], reply]}

        _, wrong = await _post(address, answer("not-the-approval-asked"))
        assert wrong == [{"type": "error", "errorText": wrong[0]["errorText"]}]
        assert wrong[0]["errorText"].startswith("nothing_to_approve: approval.id")
        _, right = await _post(address, answer(request["approvalId"]))
    assert [c for c in right if c["type"] == "error"] == []
    assert any(c["type"] == "tool-output-available" for c in right)
    assert len(fake_groq.requests) == 2
