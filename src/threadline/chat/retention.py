"""Forgetting: erasing a user on request, and conversations idle past a retention period."""

from __future__ import annotations

import asyncio
import logging

import msgspec

from threadline.chat.langgraph_api.user_store import UserStore
from threadline.chat.service import ChatService
from threadline.storage.periodic import every, stopped

__all__ = ("Erasure", "RetentionSweeper", "erase_user")

logger = logging.getLogger(__name__)


class Erasure(msgspec.Struct):
    """What erasing a user removed."""

    user_id: str
    conversations_deleted: int
    memories_deleted: int = 0
    documents_deleted: int = 0
    # Items kept through the LangGraph API's store.
    store_items_deleted: int = 0


async def erase_user(chat: ChatService, user_id: str, items: UserStore | None = None) -> Erasure:
    """Delete everything of `user_id`: conversations, memories, documents, search, items.

    The items are those kept through the LangGraph API's store (`items`). Each
    conversation goes the way a single delete does (live turn stopped first, thread
    removed under its lease), so nothing the user said is left in the database's tables.
    """
    deleted = await chat.conversations.erase_user(user_id)
    memories = documents = 0
    if chat.knowledge is not None:
        memories, documents = await chat.knowledge.erase(user_id)
    kept = await items.erase(user_id) if items is not None else 0
    return Erasure(user_id, deleted, memories, documents, kept)


class RetentionSweeper:
    """Deletes conversations idle for longer than the retention period, periodically."""

    def __init__(self, chat: ChatService, ttl_days: float) -> None:
        self._chat = chat
        self._ttl = ttl_days * 86_400
        # Often enough that nothing outlives its period by much, never more than hourly.
        self._every = min(3600.0, max(self._ttl / 4, 0.05))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sweeping in the background."""
        self._task = asyncio.create_task(every(self._every, self.sweep, logger, "retention.failed"))

    async def stop(self) -> None:
        """Stop sweeping."""
        await stopped(self._task)

    async def sweep(self) -> int:
        """Delete every conversation idle past the period; returns how many went."""
        deleted = await self._chat.conversations.delete_idle(self._ttl)
        if deleted:
            logger.info("retention.swept", extra={"conversations": deleted})
        return deleted
