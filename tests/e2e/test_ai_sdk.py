"""The Vercel AI SDK's chat (the `ai` package from npm, run with node: `AbstractChat`, as
`useChat` drives it, over `DefaultChatTransport`) against a served Threadline's
`/ai-sdk/chat`: replies, resends, regenerate, resume, stop, tools, approvals, other users."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.nodejs import run_node
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


async def test_a_resent_message_is_stored_once_and_answered_with_the_stored_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        body = _body("chat-2", ("m-1", "hello"))
        first, chunks = await _post(address, body)
        assert first.headers["x-vercel-ai-ui-message-stream"] == "v1"
        assert first.headers["content-type"].startswith("text/event-stream")
        again, resent = await _post(address, body)
        assert again.status_code == 200
        assert _streamed(resent) == _streamed(chunks) == "Reply 1: hello"
        # The same message: the stored reply, under its own id, and no second model call.
        assert resent[0] == chunks[0] == {"type": "start", "messageId": chunks[0]["messageId"]}
        assert len(fake_groq.requests) == 1
        async with connect(address, "local") as socket:
            history = await socket.history("chat-2")
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
