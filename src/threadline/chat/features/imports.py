"""What an import brings: conversations read from Threadline's export or ChatGPT's.

Pure and bounded: a Threadline export (`{"messages": [{role, content}, ...]}`, as
`export` writes it) or a ChatGPT `conversations.json` (a list of conversations, each a
`mapping` tree of messages, whose current path ends at `current_node`). From ChatGPT,
only the user's and the assistant's text is taken; from Threadline's export, what it
writes of a message (see `ImportedMessage`).
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

import msgspec

__all__ = (
    "MAX_IMPORTED_CONVERSATIONS",
    "MAX_IMPORTED_MESSAGES",
    "MAX_IMPORTED_TEXT",
    "ImportRefused",
    "ImportedCall",
    "ImportedConversation",
    "ImportedMessage",
    "conversations_in",
)

MAX_IMPORTED_CONVERSATIONS = 100  # per request
MAX_IMPORTED_MESSAGES = 2000  # per conversation
MAX_IMPORTED_TEXT = 100_000  # characters per message
MAX_IMPORTED_COMMENT = 2000  # characters of a feedback comment, as a client may give
_MAX_ID = 128  # characters of a tool call's id and a tool's name
# What a client may send as a model's id and its own message id (transport/protocol.py).
_MODEL_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
_CLIENT_ID = re.compile(r"[^\x00-\x1f\x7f]{1,128}")


class ImportRefused(Exception):
    """A document that cannot be imported (`code`: `invalid_import`, `import_too_large`)."""

    def __init__(self, code: Literal["invalid_import", "import_too_large"], detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ImportedCall(NamedTuple):
    """A tool call an assistant message made."""

    tool_call_id: str
    name: str
    args: dict[str, Any]


class ImportedMessage(NamedTuple):
    """A message to write: who said it, what, when (if known), and what else is carried.

    A Threadline export carries the model of a reply, the client's id of a user message,
    tool calls and their results (role `tool`), and the feedback given on a reply.
    """

    role: Literal["user", "assistant", "tool"]
    content: str
    created_at: str | None = None
    model: str | None = None
    client_message_id: str | None = None
    stopped: bool = False
    tool_calls: tuple[ImportedCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    feedback: tuple[Literal["up", "down"] | None, str | None] | None = None


class ImportedConversation(NamedTuple):
    """A conversation to write: its title (if any) and messages, oldest first."""

    title: str | None
    messages: list[ImportedMessage]


def conversations_in(document: Any) -> list[ImportedConversation]:
    """The conversations a document holds (those with no message left out).

    Raises:
        ImportRefused: Neither format, or past a bound.
    """
    if isinstance(document, list):
        if len(document) > MAX_IMPORTED_CONVERSATIONS:
            detail = f"at most {MAX_IMPORTED_CONVERSATIONS} conversations per import"
            raise ImportRefused("import_too_large", detail)
        found = [_chatgpt(c) for c in document]
    elif isinstance(document, dict) and "mapping" in document:
        found = [_chatgpt(document)]
    elif isinstance(document, dict) and isinstance(document.get("messages"), list):
        found = [_threadline(document)]
    else:
        detail = "expected Threadline's JSON export or a ChatGPT conversations.json"
        raise ImportRefused("invalid_import", detail)
    found = [c for c in found if c.messages]
    if not found:
        raise ImportRefused("invalid_import", "the document holds no user or assistant message")
    return found


def _threadline(document: dict[str, Any]) -> ImportedConversation:
    if document.get("format", "threadline") != "threadline":
        raise ImportRefused("invalid_import", "format: only `threadline` can be imported")
    if document.get("version", 1) != 1:
        raise ImportRefused("invalid_import", "version: only version 1 can be imported")
    messages = []
    client_ids: set[str] = set()
    for index, item in enumerate(document["messages"]):
        if not isinstance(item, dict) or item.get("role") not in {"user", "assistant", "tool"}:
            continue
        try:
            carried = msgspec.convert(item, _Item)
        except msgspec.ValidationError as error:
            raise ImportRefused("invalid_import", f"messages[{index}]: {error}") from None
        message = _carried(carried)
        if message is not None and message.client_message_id is not None:
            if message.client_message_id in client_ids:  # one message per id, as a turn
                message = message._replace(client_message_id=None)
            client_ids.add(message.client_message_id or "")
        if message is not None:
            messages.append(message)
    _check_tool_steps(messages)
    return ImportedConversation(_title(document.get("title")), _bounded(messages))


class _Call(msgspec.Struct):
    tool_call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_ID)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_ID)]
    args: dict[str, Any]


class _Feedback(msgspec.Struct):
    rating: Literal["up", "down"] | None
    comment: Annotated[str, msgspec.Meta(max_length=MAX_IMPORTED_COMMENT)] | None = None


class _Item(msgspec.Struct):
    """A message of a Threadline export, as far as import reads it (the rest is ignored)."""

    role: Literal["user", "assistant", "tool"]
    content: Any = None
    created_at: Any = None
    model: Any = None
    client_message_id: Any = None
    stopped: bool = False
    tool_calls: list[_Call] | None = None
    tool_call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_ID)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=_MAX_ID)] | None = None
    is_error: bool = False
    feedback: _Feedback | None = None


def _carried(item: _Item) -> ImportedMessage | None:
    """The message an export's item becomes; None for one with nothing in it."""
    calls = tuple(ImportedCall(c.tool_call_id, c.name, c.args) for c in item.tool_calls or ())
    if item.role == "tool" or calls:  # a result may be empty, a call's text too
        content = item.content if isinstance(item.content, str) else ""
        _check_text(content)
    else:
        found = _message(item.role, item.content, None)
        if found is None:
            return None
        content = found.content
    if item.role == "tool" and item.tool_call_id is None:
        raise ImportRefused("invalid_import", "a tool result must name its `tool_call_id`")
    return ImportedMessage(
        item.role,
        content,
        _instant(item.created_at),
        model=_fitting(item.model, _MODEL_ID) if item.role == "assistant" else None,
        client_message_id=_fitting(item.client_message_id, _CLIENT_ID)
        if item.role == "user"
        else None,
        stopped=item.stopped and item.role == "assistant",
        tool_calls=calls if item.role == "assistant" else (),
        tool_call_id=item.tool_call_id if item.role == "tool" else None,
        name=item.name if item.role == "tool" else None,
        is_error=item.is_error and item.role == "tool",
        feedback=_feedback(item),
    )


def _feedback(item: _Item) -> tuple[Literal["up", "down"] | None, str | None] | None:
    given = item.feedback
    if item.role != "assistant" or given is None or (given.rating is None and not given.comment):
        return None
    if given.comment and "\x00" in given.comment:
        raise ImportRefused("invalid_import", "a comment must not contain NUL characters")
    return given.rating, given.comment or None


def _fitting(value: Any, rule: re.Pattern[str]) -> str | None:
    """`value` if it is a string the rule allows (as a client could send it); else None."""
    return value if isinstance(value, str) and rule.fullmatch(value) else None


def _check_tool_steps(messages: list[ImportedMessage]) -> None:
    """Each tool call answered by one result right after it, as the model requires.

    Raises:
        ImportRefused: A result without its call, or a call without its result.
    """
    waiting: set[str] = set()
    for message in messages:
        if message.role == "tool":
            if message.tool_call_id not in waiting:
                detail = "a tool result must follow the assistant message that made its call"
                raise ImportRefused("invalid_import", detail)
            waiting.discard(message.tool_call_id)
            continue
        if waiting:
            break
        waiting = {call.tool_call_id for call in message.tool_calls}
        if len(waiting) != len(message.tool_calls):
            raise ImportRefused("invalid_import", "a message's tool calls must have distinct ids")
    if waiting:
        raise ImportRefused("invalid_import", "each tool call must be followed by its result")


def _chatgpt(conversation: Any) -> ImportedConversation:
    if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
        raise ImportRefused("invalid_import", "a ChatGPT conversation must have a `mapping`")
    mapping: dict[str, Any] = conversation["mapping"]
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    key = str(conversation.get("current_node"))
    while isinstance(node := mapping.get(key), dict) and key not in seen:  # a cycle ends
        seen.add(key)
        path.append(node)
        key = str(node.get("parent"))
    messages = [m for node in reversed(path) if (m := _chatgpt_message(node.get("message")))]
    return ImportedConversation(_title(conversation.get("title")), _bounded(messages))


def _chatgpt_message(message: Any) -> ImportedMessage | None:
    if not isinstance(message, dict):
        return None
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    metadata = message.get("metadata")
    hidden = isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation")
    if role not in {"user", "assistant"} or hidden or message.get("recipient", "all") != "all":
        return None
    content = message.get("content")
    if not isinstance(content, dict) or content.get("content_type") not in {
        "text",
        "multimodal_text",
    }:
        return None
    parts = content.get("parts")
    text = "\n".join(p for p in parts if isinstance(p, str)) if isinstance(parts, list) else ""
    return _message(role, text, _when(message.get("create_time")))


def _message(role: Any, content: Any, created_at: str | None) -> ImportedMessage | None:
    if not isinstance(content, str) or not content.strip():
        return None
    _check_text(content)
    return ImportedMessage(role, content, created_at)


def _check_text(content: str) -> None:
    if len(content) > MAX_IMPORTED_TEXT:
        detail = f"a message may hold at most {MAX_IMPORTED_TEXT} characters"
        raise ImportRefused("import_too_large", detail)
    if "\x00" in content:
        raise ImportRefused("invalid_import", "a message must not contain NUL characters")


def _bounded(messages: list[ImportedMessage]) -> list[ImportedMessage]:
    if len(messages) > MAX_IMPORTED_MESSAGES:
        detail = f"a conversation may hold at most {MAX_IMPORTED_MESSAGES} messages"
        raise ImportRefused("import_too_large", detail)
    return messages


def _title(title: Any) -> str | None:
    return title if isinstance(title, str) and title.strip() else None


def _instant(created_at: Any) -> str | None:
    """A Threadline message's `created_at`, if it has one: ISO 8601, as UTC.

    Raises:
        ImportRefused: Not a time with its offset (or `Z`).
    """
    if created_at is None:
        return None
    when = None
    if isinstance(created_at, str) and len(created_at) <= 64:
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(created_at)
    if when is None or when.tzinfo is None:
        detail = "created_at: an ISO 8601 time with its offset, as export writes it"
        raise ImportRefused("invalid_import", detail)
    return when.astimezone(UTC).isoformat()


def _when(seconds: Any) -> str | None:
    if not isinstance(seconds, int | float) or not 0 <= seconds < 1e11:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()
