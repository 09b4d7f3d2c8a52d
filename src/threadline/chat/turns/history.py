"""Reading a conversation's stored messages: history items and earlier turns' outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from threadline.chat.errors import InvalidRequest
from threadline.chat.events import AttachmentItem, HistoryItem, ToolCallItem
from threadline.chat.turns.branches import branches_of, current_path
from threadline.chat.turns.steps import citations_of
from threadline.engine.messages import ATTACHMENTS, CLIENT_MESSAGE_ID, CREATED_AT
from threadline.engine.replies import Reply, reply_of
from threadline.engine.runner import TurnRunner

__all__ = (
    "HistoryPage",
    "UnknownMessage",
    "find_client_message",
    "history_items",
    "last_reply",
    "last_user_message",
    "page_of",
    "read_page",
)


def _item(message: HumanMessage | AIMessage | ToolMessage, default_model: str) -> HistoryItem:
    if isinstance(message, ToolMessage):
        return HistoryItem(
            message.id or "",
            "tool",
            str(message.text),
            created_at=message.additional_kwargs.get(CREATED_AT),
            tool_call_id=message.tool_call_id,
            name=message.name,
            is_error=message.status == "error",
        )
    if isinstance(message, HumanMessage):
        kwargs = message.additional_kwargs
        return HistoryItem(
            message.id or "",
            "user",
            str(message.text),
            created_at=kwargs.get(CREATED_AT),
            client_message_id=kwargs.get(CLIENT_MESSAGE_ID),
            attachments=_attachments(kwargs.get(ATTACHMENTS)),
        )
    reply = reply_of(message, default_model)
    calls = [ToolCallItem(c["id"] or "", c["name"], c["args"]) for c in message.tool_calls]
    return HistoryItem(
        reply.message_id,
        "assistant",
        reply.content,
        created_at=message.response_metadata.get(CREATED_AT),
        stopped=reply.stopped,
        model=reply.model,
        tool_calls=calls or None,
        citations=citations_of(reply) or None,
    )


def _attachments(described: Any) -> list[AttachmentItem] | None:
    """The descriptors a user message was stored with; none for a message without."""
    return msgspec.convert(described, list[AttachmentItem]) if described else None


def history_items(messages: Sequence[AnyMessage], default_model: str) -> list[HistoryItem]:
    """The user, assistant and tool messages as history items, in order."""
    return [
        _item(message, default_model)
        for message in messages
        if isinstance(message, HumanMessage | AIMessage | ToolMessage)
    ]


def find_client_message(
    messages: Sequence[AnyMessage], client_message_id: str, default_model: str
) -> tuple[int, HumanMessage, Reply | None] | None:
    """The stored user message carrying `client_message_id`, its index, and its reply.

    Returns:
        None if no stored message carries that id.
    """
    for index, message in enumerate(messages):
        if (
            isinstance(message, HumanMessage)
            and message.additional_kwargs.get(CLIENT_MESSAGE_ID) == client_message_id
        ):
            reply = _reply_to(messages[index + 1 :])
            return index, message, reply_of(reply, default_model) if reply else None
    return None


def _reply_to(following: Sequence[AnyMessage]) -> AIMessage | None:
    """The answer among the messages after a user message: past its tool steps, if any."""
    for message in following:
        if isinstance(message, HumanMessage):
            return None
        if isinstance(message, AIMessage) and not message.tool_calls:
            return message
    return None


def last_reply(messages: Sequence[AnyMessage]) -> AIMessage | None:
    """The most recent answer (an assistant message that asks for no tool), if any."""
    return next(
        (m for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), None
    )


def last_user_message(messages: Sequence[AnyMessage]) -> HumanMessage | None:
    """The most recent user message, if any."""
    return next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)


class UnknownMessage(LookupError):
    """A page was asked relative to a message id the conversation does not have."""


class HistoryPage(NamedTuple):
    """A page of history items, and the ids that fetch the pages beside it."""

    items: list[HistoryItem]
    next_before: str | None  # older items exist: ask for those before this id
    next_after: str | None  # newer items exist: ask for those after this id


def page_of(
    items: Sequence[HistoryItem],
    limit: int,
    *,
    before: str | None = None,
    after: str | None = None,
) -> HistoryPage:
    """The `limit` items right after `after`, or right before `before`, or the newest.

    Raises:
        UnknownMessage: `before` or `after` names no item.
    """
    ids = [item.message_id for item in items]
    if after is not None:
        if after not in ids:
            raise UnknownMessage(after)
        start = ids.index(after) + 1
        end = min(len(items), start + limit)
        return HistoryPage(list(items[start:end]), None, ids[end - 1] if end < len(ids) else None)
    end = len(items)
    if before is not None:
        if before not in ids:
            raise UnknownMessage(before)
        end = ids.index(before)
    start = max(0, end - limit)
    return HistoryPage(list(items[start:end]), ids[start] if start > 0 else None, None)


async def read_page(
    runner: TurnRunner,
    conversation_id: str,
    limit: int,
    *,
    before: str | None = None,
    after: str | None = None,
) -> HistoryPage:
    """A page of the conversation's current path, as `page_of` cuts it.

    A message with siblings (other branches) carries its `branch`.

    Raises:
        InvalidRequest: The message id it pages from is not in the conversation.
    """
    tree = await runner.tree(conversation_id)
    path = current_path(tree)
    items = history_items(path.messages if path else [], runner.model_name)
    if path is not None and len(tree.leaves) > 1:
        found = branches_of(tree, path)
        for item in items:
            item.branch = found.get(item.message_id)
    try:
        return page_of(items, limit, before=before, after=after)
    except UnknownMessage:
        field = "after_message_id" if after else "before_message_id"
        raise InvalidRequest(f"{field} is not a message of this conversation") from None
