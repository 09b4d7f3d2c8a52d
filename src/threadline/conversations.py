"""Who owns which conversation: a small index in LangGraph's `AsyncPostgresStore`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from langgraph.store.base import BaseStore

__all__ = ("ConversationIndex", "new_id", "user_label")


def new_id() -> str:
    """Return a fresh unguessable id (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def user_label(user_id: str) -> str:
    """The user's namespace label, safe for the store.

    The store forbids "." in labels and ids like e-mail addresses have them, so "%" and "."
    are percent-encoded: reversible, so two users never share a label.
    """
    return user_id.replace("%", "%25").replace(".", "%2E")


def _namespace(user_id: str) -> tuple[str, ...]:
    return ("users", user_label(user_id), "conversations")


class ConversationIndex:
    """Ownership records, one store item per conversation under its owner's namespace.

    A conversation is only reachable through its owner's namespace, so another user's id
    and an id that never existed look the same to the caller.
    """

    def __init__(self, store: BaseStore) -> None:
        self._store = store

    async def create(self, user_id: str) -> str:
        """Record a new conversation for `user_id` and return its id."""
        conversation_id = new_id()
        now = datetime.now(UTC).isoformat()
        await self._store.aput(_namespace(user_id), conversation_id, {"created_at": now})
        return conversation_id

    async def owns(self, user_id: str, conversation_id: str) -> bool:
        """Whether `conversation_id` exists and belongs to `user_id`."""
        return await self._store.aget(_namespace(user_id), conversation_id) is not None
