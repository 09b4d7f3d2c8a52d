"""Reading a conversation's stored messages: history items and earlier turns' outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from threadline.chat.events import HistoryItem
from threadline.engine.context import visible
from threadline.engine.messages import CLIENT_MESSAGE_ID, CREATED_AT
from threadline.engine.runner import Reply, reply_of

__all__ = (
    "HistoryPage",
    "UnknownMessage",
    "find_client_message",
    "history_items",
    "last_user_message",
    "page_of",
)


def _item(message: HumanMessage | AIMessage, default_model: str) -> HistoryItem:
    if isinstance(message, HumanMessage):
        kwargs = message.additional_kwargs
        return HistoryItem(
            message.id or "",
            "user",
            str(message.text),
            created_at=kwargs.get(CREATED_AT),
            client_message_id=kwargs.get(CLIENT_MESSAGE_ID),
        )
    reply = reply_of(message, default_model)
    return HistoryItem(
        reply.message_id,
        "assistant",
        reply.content,
        created_at=message.response_metadata.get(CREATED_AT),
        stopped=reply.stopped,
        model=reply.model,
    )


def history_items(messages: Sequence[AnyMessage], default_model: str) -> list[HistoryItem]:
    """The user and assistant messages as history items, in order."""
    return [_item(message, default_model) for message in visible(messages)]


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
            following = messages[index + 1] if index + 1 < len(messages) else None
            reply = reply_of(following, default_model) if isinstance(following, AIMessage) else None
            return index, message, reply
    return None


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
