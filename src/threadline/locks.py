"""One turn at a time per conversation, across every process that shares the database."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from threadline.database import Pool

__all__ = ("ConversationBusy", "ConversationLocks")

logger = logging.getLogger(__name__)


class ConversationBusy(Exception):
    """Another turn of the conversation holds the lock and the caller chose not to wait."""


def lock_key(conversation_id: str) -> int:
    """A signed 64-bit advisory-lock key for the conversation.

    A collision would only serialize two unrelated conversations, which is harmless.
    """
    digest = hashlib.blake2b(conversation_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ConversationLocks:
    """PostgreSQL session advisory locks keyed by conversation.

    The lock lives on a pooled connection held for the turn; if the process dies, the
    connection closes and PostgreSQL releases the lock, so a crash never wedges a
    conversation.
    """

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def hold(self, conversation_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold the conversation's lock for the duration of the block.

        Args:
            conversation_id: The conversation to lock.
            wait: Wait for the lock; if False and it is taken, raise `ConversationBusy`.
        """
        key = lock_key(conversation_id)
        async with self._pool.connection() as conn:
            if wait:
                await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            else:
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,))
                row = await cursor.fetchone()
                if not row or not row["ok"]:
                    raise ConversationBusy
            try:
                yield
            finally:
                try:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except Exception:  # noqa: BLE001 - a closed connection has released it already
                    logger.warning("lock.unlock_failed", extra={"conversation_id": conversation_id})
                    await conn.close()
