"""Per-user limits that hold across servers: messages per minute and tokens per day.

Both are checked before a turn stores anything, so a refused message leaves no trace.
Under a daily quota the turn reserves its share first (`quota.Stake`), and its model calls
reserve theirs as they are made; what it used is counted when it ends.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from threadline.chat.errors import RateLimited
from threadline.chat.turns.quota import Stake
from threadline.engine.context import estimate_tokens
from threadline.storage.buckets import RateBuckets
from threadline.storage.usage import UsageLedger

__all__ = ("UserLimits",)


class UserLimits:
    """What each user may use, and what they have used."""

    def __init__(
        self,
        usage: UsageLedger,
        rate: RateBuckets | None,
        daily_tokens: int | None,
        reply_tokens: int | None = None,
    ) -> None:
        """Limits shared by every server on the database.

        Args:
            usage: The usage per user and day.
            rate: The message rate buckets; None: no rate limit.
            daily_tokens: DAILY_TOKEN_QUOTA; None: no quota.
            reply_tokens: The most output a model call may take (`max_tokens`), reserved
                for a call that names none; needed with a quota.
        """
        self.usage = usage
        self._rate = rate
        self._daily_tokens = daily_tokens
        self._reply_tokens = reply_tokens or 0

    def stake(self, user_id: str) -> Stake:
        """An empty stake for a turn of `user_id`, which counts what the turn uses."""
        return Stake(self.usage, user_id, self._daily_tokens, self._reply_tokens)

    async def admit(self, user_id: str, text: str | None) -> Stake:
        """Let one more turn of `user_id` through, or refuse it.

        The turn's message and a reply's worth of output are reserved first, so a refused
        message does not spend a rate token; under both limits one statement does both.

        Args:
            user_id: Whose turn.
            text: The new message (None: a regenerate, which adds none).

        Returns:
            The turn's stake, to be settled when it ends.

        Raises:
            QuotaExceeded: The reservation does not fit in what is left of today's quota.
            RateLimited: Too many messages this minute; `retry_after` says how long to wait.
        """
        stake = self.stake(user_id)
        message = estimate_tokens([HumanMessage(text)]) if text is not None else 0
        if self._rate is None:
            await stake.reserve(message + self._reply_tokens)
            return stake
        # Under both limits, one statement: the tokens reserved, then a rate token taken.
        wait = await stake.reserve_taking(message + self._reply_tokens, self._rate)
        if wait > 0:
            stake.settle(0, 0)
            raise RateLimited(retry_after=round(wait, 2))
        return stake

    async def forget(self, user_id: str) -> None:
        """Erase what is recorded of the user (erasure)."""
        await self.usage.forget(user_id)
        if self._rate is not None:
            await self._rate.forget(user_id)
