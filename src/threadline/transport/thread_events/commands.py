"""The commands a thread event stream client sends, and the answers and errors it gets.

A command is `{id, method, params}`; its answer `{type: "success", id, result}` or the
protocol's error `{type: "error", id, error, message}`, where `error` is one of the
protocol's codes and `code` beside it Threadline's own stable code (the one the
WebSocket's `error` frames and the REST API's bodies use).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from threadline.chat.errors import (
    ChatError,
    ConversationExists,
    ConversationNotFound,
    NothingToApprove,
    QuotaExceeded,
    RateLimited,
)

__all__ = (
    "Command",
    "CommandError",
    "RunStart",
    "StreamRequest",
    "error_body",
    "error_of",
    "params_of",
    "success",
    "text_of",
)

MAX_NAMESPACES = 32

T = TypeVar("T")


class CommandError(Exception):
    """A command Threadline will not carry out, in the protocol's terms and its own."""

    def __init__(self, error: str, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error = error
        self.code = code
        self.message = message
        self.status = status


class Command(msgspec.Struct):
    """`POST /threads/{thread_id}/commands`, or a WebSocket message."""

    id: Annotated[int, msgspec.Meta(ge=0)]
    method: Annotated[str, msgspec.Meta(max_length=64)]
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class RunStart(msgspec.Struct):
    """`run.start`'s params: Threadline reads the new human message of `input`."""

    input: dict[str, Any]
    assistant_id: str | None = None
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class Respond(msgspec.Struct):
    """One answer of `input.respond`."""

    interrupt_id: str
    response: Any = None
    namespace: list[str] = msgspec.field(default_factory=list)


class RespondMany(msgspec.Struct):
    """`input.respond` in its batch form."""

    responses: Annotated[list[Respond], msgspec.Meta(min_length=1)]


class Subscribe(msgspec.Struct):
    """`subscription.subscribe` (WebSocket), or an SSE stream's body."""

    channels: Annotated[list[str], msgspec.Meta(min_length=1, max_length=32)]
    namespaces: Annotated[list[list[str]], msgspec.Meta(max_length=MAX_NAMESPACES)] | None = None
    depth: int | None = None


class StreamRequest(Subscribe):
    """`POST /threads/{thread_id}/stream/events`: a filter, and where to replay from."""

    since: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Unsubscribe(msgspec.Struct):
    """`subscription.unsubscribe`."""

    subscription_id: str


def params_of(kind: type[T], params: dict[str, Any]) -> T:
    """`params` as `kind`.

    Raises:
        CommandError: They do not fit (`invalid_argument`).
    """
    try:
        return msgspec.convert(params, kind)
    except msgspec.ValidationError as error:
        raise CommandError("invalid_argument", "invalid_request", str(error)) from None


def text_of(start: RunStart, limit: int) -> tuple[str, str | None]:
    """The new human message of a `run.start`: its text and its id (if it has one).

    Raises:
        CommandError: No human message with text, or one past `limit` bytes.
    """
    messages = start.input.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("type", last.get("role")) not in {"human", "user"}:
        detail = "run.start's input must end with a human message: {messages: [{type: 'human'}]}"
        raise CommandError("invalid_argument", "invalid_request", detail)
    content = last.get("content")
    if isinstance(content, list):
        content = "".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    if not isinstance(content, str) or not content.strip():
        raise CommandError("invalid_argument", "invalid_request", "the human message has no text")
    if len(content.encode()) > limit:
        detail = f"the message exceeds the limit of {limit} bytes"
        raise CommandError("invalid_argument", "message_too_large", detail, 413)
    message_id = last.get("id")
    return content, message_id if isinstance(message_id, str) and message_id else None


def error_of(error: ChatError) -> CommandError:
    """A refusal of the chat service in the protocol's terms."""
    if isinstance(error, NothingToApprove):
        return CommandError("no_such_interrupt", error.code, error.detail, 404)
    if isinstance(error, ConversationNotFound):  # another user's: as one that is missing
        return CommandError("invalid_argument", error.code, error.detail, 404)
    if isinstance(error, ConversationExists):  # a thread id taken, as LangGraph's 409
        return CommandError("invalid_argument", error.code, error.detail, 409)
    if isinstance(error, RateLimited | QuotaExceeded):
        return CommandError("invalid_argument", error.code, error.detail, 429)
    code = "invalid_request" if error.code == "invalid_frame" else error.code
    return CommandError("invalid_argument", code, error.detail, 409 if error.retryable else 400)


def success(command_id: int, result: dict[str, Any]) -> dict[str, Any]:
    """A command's answer."""
    return {"type": "success", "id": command_id, "result": result}


def error_body(command_id: int | None, error: CommandError) -> dict[str, Any]:
    """A command's refusal: the protocol's error, with Threadline's `code` beside it."""
    return {
        "type": "error",
        "id": command_id,
        "error": error.error,
        "message": error.message,
        "code": error.code,
    }
