"""A conversation's thread changed outside a turn: under its lease, the sidebar told after.

Rolling back a stopped reply, switching branch and writing a thread's state (the LangGraph
API) each change the thread between turns. Each holds the conversation's lease for the
change (so no turn runs meanwhile, on any process), records what the thread now holds in
its index entry under that lease, and tells the user's sidebars once the lease is given
back. The lease's refusals become the chat service's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from langchain_core.messages import AnyMessage

from threadline.chat.errors import ConversationBusy, ConversationNotFound
from threadline.chat.events import ConversationChanged
from threadline.chat.turns.activity import Activity
from threadline.storage.leases import ConversationLocks, Lease, LeaseHeld, NotAllowed

__all__ = ("Amendment", "amending")


class Amendment:
    """One change of a conversation's thread, under its lease."""

    def __init__(self, activity: Activity, user_id: str, conversation_id: str, lease: Lease):
        self._activity = activity
        self._user_id = user_id
        self._conversation_id = conversation_id
        self._lease = lease
        self.told: ConversationChanged | None = None

    async def record(self, messages: Sequence[AnyMessage]) -> None:
        """Keep what the thread now holds in its index entry (told when the lease goes)."""
        self.told = await self._activity.record(
            self._user_id, self._conversation_id, messages, new_message=False, lease=self._lease
        )


@asynccontextmanager
async def amending(
    leases: ConversationLocks,
    activity: Activity,
    user_id: str,
    conversation_id: str,
    *,
    wait: bool = True,
) -> AsyncIterator[Amendment]:
    """Hold the user's conversation's lease for a change; tell the sidebars after it.

    Args:
        leases: Where the lease is taken.
        activity: What records and tells the change.
        user_id: The owner: the lease is taken only while the conversation is theirs.
        conversation_id: The conversation (its thread) to change.
        wait: Wait for a running turn to end; if False, refuse while one runs.

    Raises:
        ConversationNotFound: Not a conversation of this user (or deleted meanwhile).
        ConversationBusy: A turn holds the lease, and `wait` is False.
    """
    try:
        async with leases.hold(conversation_id, wait=wait, user_id=user_id) as lease:
            amendment = Amendment(activity, user_id, conversation_id, lease)
            yield amendment
    except NotAllowed:
        raise ConversationNotFound from None
    except LeaseHeld:
        raise ConversationBusy from None
    if amendment.told is not None:  # the sidebars, on every server
        await activity.tell(user_id, amendment.told)
