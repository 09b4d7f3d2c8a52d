"""This process's turns: who may start one, their order per conversation, and the drain.

The roster admits a turn (per-user and per-conversation limits, the shared limits, not
while draining), places it in its conversation's lane, keeps it live until its task ends,
and at shutdown gives the live turns their grace.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NamedTuple

from threadline.chat.errors import ConversationBusy, ShuttingDown, TooManyTurns
from threadline.chat.events import Failed
from threadline.chat.turns.activity import Activity
from threadline.chat.turns.lanes import Lanes
from threadline.chat.turns.limits import UserLimits
from threadline.chat.turns.quota import Stake
from threadline.chat.turns.registry import LiveTurns
from threadline.chat.turns.turn import Turn

__all__ = ("Roster", "TurnPolicy")

logger = logging.getLogger(__name__)


class TurnPolicy(NamedTuple):
    """What happens to a message for a busy conversation, and the limits on waiting turns."""

    queue_when_busy: bool = True
    queued_per_conversation: int = 8
    per_user: int = 32


class Roster:
    """The turns of this process, from admission until their task ends."""

    def __init__(
        self, policy: TurnPolicy, limits: UserLimits | None, live: LiveTurns | None = None
    ) -> None:
        self._policy = policy
        self._limits = limits
        self._lanes = Lanes()
        self.live = live or LiveTurns()
        self.draining = False
        self._settled = False

    def busy(self, conversation_id: str) -> bool:
        """Whether a turn of the conversation is running or waiting in this process."""
        return self._lanes.busy(conversation_id)

    async def admit(self, user_id: str, text: str | None) -> Stake | None:
        """Refuse a turn past the user's limits: this server's first, then the shared ones.

        Returns:
            The turn's stake of the daily quota (None without shared limits).
        """
        if self.draining:
            raise ShuttingDown
        limit = self._policy.per_user
        if self.live.of_user(user_id) >= limit:
            raise TooManyTurns(
                f"you have {limit} messages being answered or waiting; "
                "send this one again once some are answered"
            )
        return await self._limits.admit(user_id, text) if self._limits is not None else None

    async def start(self, turn: Turn) -> None:
        """Give the turn its place in the conversation's lane and start it.

        Raises:
            ShuttingDown: The server drains (an approval's turn is not admitted first).
            ConversationBusy: The conversation cannot take another waiting turn.
        """
        if self.draining:
            raise ShuttingDown
        conversation_id = turn.conversation_id
        if not self._policy.queue_when_busy and self._lanes.busy(conversation_id):
            raise ConversationBusy
        limit = self._policy.queued_per_conversation
        if self._lanes.waiting(conversation_id) >= limit:
            waiting = f"and {limit} more messages already wait their turn"
            raise ConversationBusy(f"{ConversationBusy.default_detail}, {waiting}")
        place, ahead = self._lanes.join(conversation_id)
        self.live.add(turn)
        await turn.start(place, ahead)
        assert turn.task is not None  # noqa: S101 - set by start()
        turn.task.add_done_callback(lambda task: self._ended(turn, task))

    def _tasks(self) -> list[asyncio.Task[None]]:
        return [turn.task for turn in self.live.all() if turn.task is not None]

    def _ended(self, turn: Turn, task: asyncio.Task[None]) -> None:
        self.live.discard(turn)
        if not task.cancelled() and (error := task.exception()) is not None:
            # The turn reports its own failures to its listeners; this is a last resort.
            logger.error(
                "turn.crashed", exc_info=error, extra={"conversation_id": turn.conversation_id}
            )

    async def settle(self, grace: float) -> None:
        """Refuse new turns, and wait up to `grace` seconds for the live ones to end."""
        self.draining = True
        if tasks := self._tasks():
            await asyncio.wait(tasks, timeout=grace)
        self._settled = True

    async def drain(self, grace: float, activity: Activity) -> None:
        """At shutdown: let turns finish within `grace`, then stop them (saving partials).

        After `settle` the turns already had their grace: those left are stopped at once.
        """
        if self._settled:
            grace = 0.0
        if tasks := self._tasks():
            _, pending = await asyncio.wait(tasks, timeout=grace)
            shutting_down = "the server is shutting down; send the message again"
            for turn in self.live.all():
                error = Failed("storage_unavailable", shutting_down, True, turn.conversation_id)
                await turn.withdraw(error)
            await asyncio.gather(*pending, return_exceptions=True)
        await activity.drain(max(grace, 0.1))
