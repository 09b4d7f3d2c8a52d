"""A turn's events as the AI SDK's UI message stream chunks (`x-vercel-ai-ui-message-stream: v1`).

One `UIStream` per response: it keeps what it has said (the message started, the text
part open, the step open) so that each event becomes the chunks that continue it. The
reply is one assistant message (`start` names it: Threadline's reply id); each model
call is a step; a tool call is a dynamic tool part (the client declares no tools), an
approval a `tool-approval-request`, citations `source-document`s, the context budget a
`data-context` part, a failure an `error` whose text begins with Threadline's code, a
stopped reply an `abort`. After the last event: `finish` and `data: [DONE]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec
from litestar.response.sse import ServerSentEventMessage

from threadline.chat.events import (
    ApprovalRequired,
    Citation,
    Context,
    Event,
    Failed,
    InterruptEvent,
    Replied,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)
from threadline.transport.http_errors import retry_seconds

__all__ = ("HEADERS", "UIStream", "error_chunk", "error_text")

HEADERS = {"x-vercel-ai-ui-message-stream": "v1", "x-accel-buffering": "no"}

FinishReason = Literal["stop", "tool-calls", "error", "other"]
Chunk = dict[str, Any]


def error_text(code: str, detail: str) -> str:
    """An `error` chunk's text: Threadline's stable code first, then what it means."""
    return f"{code}: {detail}"


def error_chunk(code: str, detail: str, retry_after: float | None = None) -> Chunk:
    """An `error` chunk; a limit's refusal says when to try again (`retryAfter`, seconds)."""
    chunk: Chunk = {"type": "error", "errorText": error_text(code, detail)}
    if (seconds := retry_seconds(retry_after)) is not None:
        chunk["retryAfter"] = seconds
    return chunk


def _message(chunk: Chunk) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(chunk).decode())


class UIStream:
    """The chunks of one response, event by event (`render`) and at its end (`close`)."""

    def __init__(self, reply_id: str | None = None, told: Iterable[str] = ()) -> None:
        """`reply_id`: the reply's id when known, else the events'.

        `told`: the tool calls the client's message shows already (an approval answered).
        """
        self._reply_id = reply_id
        self._started = False
        self._step = False
        self._text: str | None = None  # the open text part's id
        self._texts: set[str] = set()  # messages whose text was streamed
        self._tools = set(told)  # tool calls told
        self._tools_ran = False  # results came: the next words are a new step
        self._finish: FinishReason | None = "stop"  # None: aborted, no `finish`

    def render(self, event: Event) -> Iterable[ServerSentEventMessage]:
        """The chunks `event` becomes (none for what the SDK has no place for)."""
        return [_message(chunk) for chunk in self._chunks(event)]

    def close(self) -> Iterable[ServerSentEventMessage]:
        """The chunks that end the response: the open part and step, `finish`, `[DONE]`."""
        chunks = self._end_text() + self._end_step()
        if self._started and self._finish is not None:
            chunks.append({"type": "finish", "finishReason": self._finish})
        return [*(_message(chunk) for chunk in chunks), ServerSentEventMessage(data="[DONE]")]

    def _chunks(self, event: Event) -> list[Chunk]:  # noqa: PLR0911 - one branch per event
        if isinstance(event, Token):
            return self._token(event)
        if isinstance(event, ToolCallEvent):
            return self._tool_call(event.message_id, event.tool_call_id, event.name, event.args)
        if isinstance(event, ToolResultEvent):
            return self._tool_result(event)
        if isinstance(event, ApprovalRequired):
            return self._approval(event)
        if isinstance(event, InterruptEvent):
            self._finish = "other"
            data = {"interrupt_id": event.interrupt_id, "value": event.value}
            return [
                *self._start(None),
                {"type": "data-interrupt", "id": event.interrupt_id, "data": data},
            ]
        if isinstance(event, Replied):
            return self._replied(event)
        if isinstance(event, Context):
            data = msgspec.to_builtins(event)
            data.pop("kind", None)
            return [{"type": "data-context", "id": "context", "data": data}]
        if isinstance(event, Failed):
            self._finish = "error"
            error = error_chunk(event.code, event.detail, event.retry_after)
            return [*self._start(None), *self._end_text(), error]
        return []  # queued, accepted, sidebar changes: nothing the message shows

    def _start(self, message_id: str | None, *, own: bool = False) -> list[Chunk]:
        """`start` once, naming the reply (`own`: by `message_id`, a stored reply's)."""
        if self._started:
            return []
        self._started = True
        chosen = message_id if own else self._reply_id or message_id
        return [{"type": "start", "messageId": chosen} if chosen else {"type": "start"}]

    def _begin_step(self, message_id: str | None) -> list[Chunk]:
        chunks = self._start(message_id)
        if self._tools_ran:  # the model answers the tools' results: a new step
            self._tools_ran = False
            chunks += self._end_text() + self._end_step()
        if not self._step:
            self._step = True
            chunks.append({"type": "start-step"})
        return chunks

    def _end_step(self) -> list[Chunk]:
        if not self._step:
            return []
        self._step = False
        return [{"type": "finish-step"}]

    def _end_text(self) -> list[Chunk]:
        if self._text is None:
            return []
        ended, self._text = self._text, None
        return [{"type": "text-end", "id": ended}]

    def _token(self, event: Token) -> list[Chunk]:
        chunks = self._begin_step(event.message_id)
        if self._text != event.message_id:
            chunks += self._end_text()
            self._text = event.message_id
            self._texts.add(event.message_id)
            chunks.append({"type": "text-start", "id": event.message_id})
        chunks.append({"type": "text-delta", "id": event.message_id, "delta": event.delta})
        return chunks

    def _tool_call(
        self, message_id: str | None, call_id: str, name: str, args: dict[str, Any]
    ) -> list[Chunk]:
        if call_id in self._tools:
            return []
        self._tools.add(call_id)
        named = {"toolCallId": call_id, "toolName": name, "dynamic": True}
        return [
            *self._begin_step(message_id),
            *self._end_text(),
            {"type": "tool-input-start", **named},
            {"type": "tool-input-available", **named, "input": args},
        ]

    def _tool_result(self, event: ToolResultEvent) -> list[Chunk]:
        chunks = self._start(None) + self._tool_call(None, event.tool_call_id, event.name, {})
        self._tools_ran = True
        call = {"toolCallId": event.tool_call_id, "dynamic": True}
        if event.is_error:
            return [*chunks, {"type": "tool-output-error", **call, "errorText": event.content}]
        return [*chunks, {"type": "tool-output-available", **call, "output": event.content}]

    def _approval(self, event: ApprovalRequired) -> list[Chunk]:
        self._finish = "tool-calls"
        request = {
            "type": "tool-approval-request",
            "approvalId": event.tool_call_id,
            "toolCallId": event.tool_call_id,
        }
        return [*self._tool_call(None, event.tool_call_id, event.name, event.args), request]

    def _replied(self, event: Replied) -> list[Chunk]:
        # A reply read from storage (a resend, no `seq`) is named by its own id.
        whole = event.seq is msgspec.UNSET
        chunks = self._start(event.message_id, own=whole)
        if event.message_id not in self._texts and event.content:
            chunks += self._begin_step(event.message_id) + self._end_text()
            part = event.message_id
            self._texts.add(part)
            chunks += [
                {"type": "text-start", "id": part},
                {"type": "text-delta", "id": part, "delta": event.content},
                {"type": "text-end", "id": part},
            ]
        chunks += self._end_text()
        if event.citations is not msgspec.UNSET:
            chunks += _sources(event.citations)
        if event.stopped:
            self._finish = None
            chunks += [*self._end_step(), {"type": "abort", "reason": "stopped"}]
        return chunks


def _sources(citations: list[Citation]) -> list[Chunk]:
    """A `source-document` per document cited (its passages in `providerMetadata`)."""
    chunks: dict[str, Chunk] = {}
    for citation in citations:
        chunk = chunks.setdefault(
            citation.document_id,
            {
                "type": "source-document",
                "sourceId": citation.document_id,
                "mediaType": "text/plain",
                "title": citation.title,
                "providerMetadata": {"threadline": {"passages": []}},
            },
        )
        passage = {"text": citation.text, "score": citation.score}
        chunk["providerMetadata"]["threadline"]["passages"].append(passage)
    return list(chunks.values())
