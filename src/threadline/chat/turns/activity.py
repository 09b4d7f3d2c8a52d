"""After each turn: the sidebar's view of the conversation, and its automatic title."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import msgspec
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage

from threadline.chat.events import ConversationChanged
from threadline.chat.fanout.relay import Relay
from threadline.clock import now
from threadline.conversations.index import ConversationIndex, ConversationSummary
from threadline.conversations.titles import make_title
from threadline.engine.context import visible
from threadline.storage.leases import Lease

__all__ = ("Activity",)

logger = logging.getLogger(__name__)


class Activity:
    """Keeps index entries current; titles are made in the background, off the turn's path.

    Each change is told to the user's sockets (`conversation` events), on every process.
    """

    def __init__(
        self, index: ConversationIndex, title_model: BaseChatModel | None, relay: Relay
    ) -> None:
        self._index = index
        self._title_model = title_model
        self._relay = relay
        self._titling: set[asyncio.Task[None]] = set()

    async def record(
        self,
        user_id: str,
        conversation_id: str,
        messages: Sequence[AnyMessage],
        *,
        new_message: bool,
        lease: Lease,
    ) -> ConversationChanged | None:
        """Update the index entry from what a turn left in the thread.

        Args:
            user_id: The owner.
            conversation_id: The conversation.
            messages: The thread's messages after the turn.
            new_message: Whether the turn added a user message (a regenerate does not).
            lease: The turn's lease, given back in the same statement as the update.

        Returns:
            The `updated` event to tell once the turn's events are out; None if nothing
            changed.
        """
        shown = visible(messages)
        if not shown:
            return None
        try:
            recorded = await self._index.record_activity(lease, len(shown), str(shown[-1].text))
        except Exception as error:  # noqa: BLE001 - the turn itself is done and delivered
            logger.warning("index.update_failed", extra={"error": type(error).__name__})
            return None
        users = [m for m in shown if isinstance(m, HumanMessage)]
        if new_message and len(users) == 1:
            task = asyncio.create_task(self._title(user_id, conversation_id, str(users[0].text)))
            self._titling.add(task)
            task.add_done_callback(self._titling.discard)
        if recorded is None:
            return None
        title, updated_at = recorded
        return ConversationChanged(conversation_id, "updated", updated_at, title)

    async def tell(self, user_id: str, event: ConversationChanged) -> None:
        """Tell the user's sockets, on every process, about a change of a conversation."""
        await self._relay.sidebar(user_id, event)

    async def created(self, user_id: str, conversation_id: str) -> None:
        """A conversation was created."""
        await self.tell(user_id, ConversationChanged(conversation_id, "created", now(), None))

    async def renamed(self, user_id: str, summary: ConversationSummary) -> None:
        """A conversation has a new title (the user's, or the automatic one)."""
        event = ConversationChanged(
            summary.conversation_id, "renamed", summary.updated_at, summary.title
        )
        await self.tell(user_id, event)

    async def model_changed(self, user_id: str, summary: ConversationSummary) -> None:
        """A conversation's next turns answer with another model."""
        event = ConversationChanged(
            summary.conversation_id,
            "model_changed",
            summary.updated_at,
            summary.title,
            model=summary.model or msgspec.UNSET,
        )
        await self.tell(user_id, event)

    async def deleted(self, user_id: str, conversation_id: str) -> None:
        """A conversation was deleted."""
        await self.tell(user_id, ConversationChanged(conversation_id, "deleted", now()))

    async def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for titles still being made."""
        if self._titling:
            await asyncio.wait(self._titling, timeout=grace)

    async def _title(self, user_id: str, conversation_id: str, first_message: str) -> None:
        title = await make_title(self._title_model, first_message)
        try:
            summary = await self._index.set_title(user_id, conversation_id, title, "auto")
        except Exception as error:  # noqa: BLE001 - a title is a nicety
            logger.warning("title.store_failed", extra={"error": type(error).__name__})
            return
        if summary is not None:
            await self.renamed(user_id, summary)
