"""Deleting conversations: by their user, all of a user's (erasure), or idle ones (retention).

Whoever deletes, the order is the same: the index entry first (from then on no server
accepts a message for the conversation), then its live turns here are withdrawn, then its
thread goes, under the conversation's lease so a turn still running on another server
finishes first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from threadline.chat.errors import ConversationNotFound
from threadline.chat.events import Failed
from threadline.chat.turns.registry import LiveTurns
from threadline.chat.turns.turn import TurnServices

__all__ = ("Deletion", "Keepsake")

logger = logging.getLogger(__name__)


class Keepsake(Protocol):
    """Something kept per conversation beside its thread (feedback, shares)."""

    async def forget(self, user_id: str, conversation_id: str) -> None:
        """Delete what is kept of one conversation."""

    async def erase(self, user_id: str) -> int:
        """Delete everything kept of `user_id`'s; returns how many items went."""


class Deletion:
    """Deletes conversations and everything they stored."""

    def __init__(
        self,
        crew: TurnServices,
        live: LiveTurns,
        forget: Callable[[str], Awaitable[None]] | None = None,
        kept: Sequence[Keepsake] = (),
    ) -> None:
        """Delete through `crew`'s parts; `forget` also drops each from search.

        What is `kept` of a conversation (its feedback, its shares) goes with it.
        """
        self._forget = forget
        self._kept = kept
        self._index = crew.index
        self._runner = crew.runner
        self._leases = crew.leases
        self._limits = crew.limits
        self._activity = crew.activity
        self._live = live

    async def delete(self, user_id: str, conversation_id: str) -> None:
        """Delete one conversation of `user_id`.

        Raises:
            ConversationNotFound: Not a conversation of this user.
        """
        if not await self._index.owns(user_id, conversation_id):
            raise ConversationNotFound
        await self._index.delete(user_id, conversation_id)
        await self._activity.deleted(user_id, conversation_id)
        gone = Failed(
            ConversationNotFound.code, ConversationNotFound.default_detail, False, conversation_id
        )
        turns = self._live.of_conversation(conversation_id)
        for turn in turns:
            await turn.withdraw(gone)
        await asyncio.gather(*(t.task for t in turns if t.task), return_exceptions=True)
        async with self._leases.hold(conversation_id):
            await self._runner.delete(conversation_id)
        if self._forget is not None:
            await self._forget(conversation_id)
        for keepsake in self._kept:
            await keepsake.forget(user_id, conversation_id)
        logger.info("conversation.deleted", extra={"conversation_id": conversation_id})

    async def erase_user(self, user_id: str) -> int:
        """Delete every conversation of `user_id`, and their usage; returns how many went."""
        conversations = [(user_id, c) for c in await self._index.all_of(user_id)]
        deleted = await self._delete_each(conversations)
        for keepsake in self._kept:  # what a conversation deleted meanwhile left behind
            await keepsake.erase(user_id)
        if self._limits is not None:
            await self._limits.forget(user_id)
        logger.info("user.erased", extra={"conversations": deleted})
        return deleted

    async def delete_idle(self, seconds: float) -> int:
        """Delete every conversation idle for `seconds` or more; returns how many went."""
        return await self._delete_each(await self._index.idle_since(seconds))

    async def _delete_each(self, conversations: list[tuple[str, str]]) -> int:
        deleted = 0
        for user_id, conversation_id in conversations:
            try:
                await self.delete(user_id, conversation_id)
                deleted += 1
            except ConversationNotFound:
                continue  # deleted meanwhile: by the user, a sweeper, another server
        return deleted
