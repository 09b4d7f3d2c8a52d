"""A fake Groq HTTP API on 127.0.0.1, speaking Groq's wire format, with fault injection.

The real `ChatGroq` client talks to it through `GROQ_API_BASE`, so tests run the real
client code. It records every request body, so tests can see what the model was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, post
from litestar.response import Stream

from threadline.conversations.titles import TITLE_INSTRUCTION
from threadline.engine.context import SUMMARY_INSTRUCTION
from threadline.llm.prompts import ROUTER_INSTRUCTION

MODEL = "openai/gpt-oss-20b"


class CutStream(Exception):
    """Raised inside a streaming response: uvicorn aborts the connection mid-body."""


@dataclass
class Fault:
    """How the fake answers one request instead of replying normally.

    Attributes:
        status: Answer with this HTTP error status and a Groq-style error body.
        delay: Seconds to wait before answering.
        token_delay: Seconds to wait before each streamed token (a slow model).
        cut_after: Drop the connection after this many tokens (no end of body).
        truncate_after: End the body cleanly after this many tokens, with neither a
            finish reason nor `data: [DONE]`.
        only_for: Apply only to a request whose last user message is this text.
        hold_after: Stop streaming after this many tokens until `release` is set (or 30 s
            have passed): a reply surely still running while the test acts on it.
        release: What lets a held stream go on.
    """

    status: int | None = None
    delay: float = 0.0
    token_delay: float = 0.0
    cut_after: int | None = None
    truncate_after: int | None = None
    only_for: str | None = None
    hold_after: int | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class FakeGroq:
    """Replies `Reply <n>: <last user message>` word by word, unless a fault is queued."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    url: str = ""
    # Applies to every request that has no queued fault of its own.
    default: Fault = field(default_factory=Fault)
    # Title and summary requests (recognised by Threadline's instructions) are kept apart,
    # so they never take a chat turn's fault or shift its reply number.
    title_requests: list[dict[str, Any]] = field(default_factory=list)
    summary_requests: list[dict[str, Any]] = field(default_factory=list)
    title_faults: deque[Fault] = field(default_factory=deque)
    # Tool calls the model makes, one list per request that offers tools and ends with a
    # user message: `[("calculator", {"expression": "2+3"}), ...]`. A request ending with
    # tool results is answered `Tools said: <results>`.
    tool_calls: deque[list[tuple[str, dict[str, Any]]]] = field(default_factory=deque)
    # Router requests (several agents) are kept apart too, answered with the queued name,
    # else the first specialist listed.
    route_requests: list[dict[str, Any]] = field(default_factory=list)
    routes: deque[str] = field(default_factory=deque)
    # Scripts of the agents of a graph with several (a supervisor, a swarm), by system
    # prompt: a request with that prompt takes the next entry, the tool calls it makes
    # (`[]`: it answers in words), whatever its last message is.
    agent_calls: dict[str, deque[list[tuple[str, dict[str, Any]]]]] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget every request, fault and script, as a new fake would (same URL)."""
        for name, value in vars(FakeGroq()).items():
            if name != "url":
                setattr(self, name, value)

    def reply_for(self, body: dict[str, Any]) -> str:
        """The reply text the fake gives to `body`."""
        user = [text_of(m["content"]) for m in body["messages"] if m["role"] == "user"]
        return f"Reply {len(self.requests)}: {user[-1] if user else ''}"

    def user_turns(self, index: int = -1) -> list[str]:
        """The `role: content` lines of request `index`, for asserting what the model saw."""
        return [f"{m['role']}: {m['content']}" for m in self.requests[index]["messages"]]

    def app(self) -> Litestar:
        """The ASGI app serving `POST /openai/v1/chat/completions`."""

        @post("/openai/v1/chat/completions", status_code=200)
        async def completions(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
            body = msgspec.json.decode(await request.body())
            if (special := self._threadlines_own(body)) is not None:
                return special
            self.requests.append(body)
            fault = self._take_fault(body)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return _error(fault.status)
            calls = self._tool_calls_for(body)
            if calls is not None:
                return Stream(_sse_tool_calls(calls, body["model"]), media_type="text/event-stream")
            text = self.reply_for(body)
            if body["messages"][-1]["role"] == "tool":
                text = f"Tools said: {' | '.join(_trailing_tool_results(body))}"
            if body.get("stream"):
                return Stream(_sse(text, body["model"], fault), media_type="text/event-stream")
            return Response(_completion(text, body["model"]))

        return Litestar(route_handlers=[completions], logging_config=None)

    def _tool_calls_for(self, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
        if script := self.agent_calls.get(_instruction(body)):
            return script.popleft() or None
        if not body.get("tools") or body["messages"][-1]["role"] != "user" or not self.tool_calls:
            return None
        return self.tool_calls.popleft()

    def _take_fault(self, body: dict[str, Any]) -> Fault:
        users = (m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        last = next((text_of(content) for content in users), None)
        for fault in self.faults:
            if fault.only_for is None or fault.only_for == last:
                self.faults.remove(fault)
                return fault
        return self.default

    def _summary(self, body: dict[str, Any]) -> Response[Any] | Stream:
        self.summary_requests.append(body)
        text = f"SUMMARY#{len(self.summary_requests)}"
        if body.get("stream"):
            return Stream(_sse(text, body["model"], Fault()), media_type="text/event-stream")
        return Response(_completion(text, body["model"]))

    def _threadlines_own(self, body: dict[str, Any]) -> Response[Any] | Stream | None:
        """Title, summary and router requests, answered apart from the chat's."""
        instruction = _instruction(body)
        if instruction == TITLE_INSTRUCTION:
            return self._title(body)
        if instruction == SUMMARY_INSTRUCTION:
            return self._summary(body)
        if instruction.startswith(ROUTER_INSTRUCTION):
            return self._route(body)
        return None

    def _route(self, body: dict[str, Any]) -> Response[Any] | Stream:
        self.route_requests.append(body)
        listed = re.findall(r"^- ([^:]+):", _instruction(body), re.M)
        name = self.routes.popleft() if self.routes else listed[0]
        if body.get("stream"):
            return Stream(_sse(name, body["model"], Fault()), media_type="text/event-stream")
        return Response(_completion(name, body["model"]))

    def _title(self, body: dict[str, Any]) -> Response[Any]:
        self.title_requests.append(body)
        fault = self.title_faults.popleft() if self.title_faults else Fault()
        if fault.status is not None:
            return _error(fault.status)
        words = body["messages"][-1]["content"].split()[:3]
        return Response(_completion(f'"Title: {" ".join(words)}"', body["model"]))


def text_of(content: str | list[dict[str, Any]]) -> str:
    """A message's text: its content, or the text blocks of content given in blocks."""
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content if block.get("type") == "text")


def _trailing_tool_results(body: dict[str, Any]) -> list[str]:
    results: list[str] = []
    for message in reversed(body["messages"]):
        if message["role"] != "tool":
            break
        results.insert(0, str(message["content"]))
    return results


def _instruction(body: dict[str, Any]) -> str:
    first = body["messages"][0]
    return str(first["content"]) if first["role"] == "system" else ""


def _error(status: int) -> Response[Any]:
    kind = "rate_limit_exceeded" if status == 429 else "server_error"
    body = {"error": {"message": f"fake failure {status}", "type": kind, "code": kind}}
    # retry-after 0 keeps any client-side retry instant.
    return Response(body, status_code=status, headers={"retry-after": "0"})


def _base(model: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
    }


def _usage(text: str) -> dict[str, Any]:
    words = len(text.split())
    return {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}


def _completion(text: str, model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    return {**_base(model, "chat.completion"), "choices": [choice], "usage": _usage(text)}


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, text: str = "") -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    payload = {**_base(model, "chat.completion.chunk"), "choices": [choice]}
    if finish:  # Groq reports the request's usage in the last chunk, under `x_groq`
        payload["x_groq"] = {"id": "req_fake", "usage": _usage(text)}
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


async def _sse(text: str, model: str, fault: Fault) -> AsyncIterator[bytes]:
    yield _chunk(model, {"role": "assistant", "content": ""})
    for sent, word in enumerate(re.findall(r"\S+\s*", text)):
        if sent == fault.cut_after:
            raise CutStream
        if sent == fault.truncate_after:
            return
        if sent == fault.hold_after:
            with contextlib.suppress(TimeoutError):  # a failed test never sets it
                await asyncio.wait_for(fault.release.wait(), 30)
        if fault.token_delay:
            await asyncio.sleep(fault.token_delay)
        yield _chunk(model, {"content": word})
    yield _chunk(model, {}, finish="stop", text=text)
    yield b"data: [DONE]\n\n"


async def _sse_tool_calls(
    calls: list[tuple[str, dict[str, Any]]], model: str
) -> AsyncIterator[bytes]:
    """Tool calls as Groq streams them: id and name first, the arguments in pieces."""
    yield _chunk(model, {"role": "assistant", "content": None})
    for index, (name, args) in enumerate(calls):
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        head = {"index": index, "id": call_id, "type": "function"}
        head["function"] = {"name": name, "arguments": ""}
        yield _chunk(model, {"tool_calls": [head]})
        arguments = msgspec.json.encode(args).decode()
        for start in range(0, len(arguments), 7):
            piece = {"index": index, "function": {"arguments": arguments[start : start + 7]}}
            yield _chunk(model, {"tool_calls": [piece]})
    yield _chunk(model, {}, finish="tool_calls")
    yield b"data: [DONE]\n\n"
