"""What an import brings: conversations read from Threadline's export or ChatGPT's.

Pure and bounded: a Threadline export (`{"messages": [{role, content}, ...]}`, as
`export` writes it) or a ChatGPT `conversations.json` (a list of conversations, each a
`mapping` tree of messages, whose current path ends at `current_node`). Only the user's
and the assistant's text is taken; tool steps, system prompts and hidden messages are not.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

__all__ = (
    "MAX_IMPORTED_CONVERSATIONS",
    "MAX_IMPORTED_MESSAGES",
    "MAX_IMPORTED_TEXT",
    "ImportRefused",
    "ImportedConversation",
    "ImportedMessage",
    "conversations_in",
)

MAX_IMPORTED_CONVERSATIONS = 100  # per request
MAX_IMPORTED_MESSAGES = 2000  # per conversation
MAX_IMPORTED_TEXT = 100_000  # characters per message


class ImportRefused(Exception):
    """A document that cannot be imported (`code`: `invalid_import`, `import_too_large`)."""

    def __init__(self, code: Literal["invalid_import", "import_too_large"], detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ImportedMessage(NamedTuple):
    """A message to write: who said it, what, and when (if known)."""

    role: Literal["user", "assistant"]
    content: str
    created_at: str | None = None


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
    for item in document["messages"]:
        if not isinstance(item, dict) or item.get("role") not in {"user", "assistant"}:
            continue
        created = _instant(item.get("created_at"))
        message = _message(item["role"], item.get("content"), created)
        if message is not None:
            messages.append(message)
    return ImportedConversation(_title(document.get("title")), _bounded(messages))


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


def _message(role: Any, content: Any, created_at: Any) -> ImportedMessage | None:
    if not isinstance(content, str) or not content.strip():
        return None
    if len(content) > MAX_IMPORTED_TEXT:
        detail = f"a message may hold at most {MAX_IMPORTED_TEXT} characters"
        raise ImportRefused("import_too_large", detail)
    if "\x00" in content:
        raise ImportRefused("invalid_import", "a message must not contain NUL characters")
    return ImportedMessage(role, content, created_at)


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
