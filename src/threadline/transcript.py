"""Reading a conversation's stored messages: history items and earlier turns' outcomes."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from threadline.protocol import HistoryItem
from threadline.turns import Reply, reply_of

__all__ = ("CLIENT_MESSAGE_ID", "find_client_message", "history_items", "last_user_message")

# Where a user message keeps the client's own id, for recognising a resend.
CLIENT_MESSAGE_ID = "client_message_id"


def history_items(messages: Sequence[AnyMessage], default_model: str) -> list[HistoryItem]:
    """The user and assistant messages as history items, in order."""
    items: list[HistoryItem] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            client_id = message.additional_kwargs.get(CLIENT_MESSAGE_ID)
            items.append(
                HistoryItem(
                    message.id or "", "user", str(message.text), client_message_id=client_id
                )
            )
        elif isinstance(message, AIMessage):
            reply = reply_of(message, default_model)
            items.append(
                HistoryItem(
                    reply.message_id, "assistant", reply.content, reply.stopped, reply.model
                )
            )
    return items


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
