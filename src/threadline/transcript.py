"""Reading a conversation's stored messages: history items and earlier turns' outcomes."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from threadline.context import visible
from threadline.graph import CREATED_AT
from threadline.protocol import HistoryItem
from threadline.turns import Reply, reply_of

__all__ = (
    "CLIENT_MESSAGE_ID",
    "find_client_message",
    "history_items",
    "last_user_message",
)

# Where a user message keeps the client's own id, for recognising a resend.
CLIENT_MESSAGE_ID = "client_message_id"


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
