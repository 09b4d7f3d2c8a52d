"""Per-user limits that hold across servers: messages per minute and tokens per day.

Both are checked before a turn stores anything, so a refused message leaves no trace;
usage is counted after a turn, from what the model reported using.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from threadline.chat.errors import QuotaExceeded, RateLimited
from threadline.storage.buckets import RateBuckets
from threadline.storage.usage import UsageLedger, today

__all__ = ("UserLimits",)


def _seconds_to_midnight() -> float:
    tomorrow = datetime.combine(today() + timedelta(days=1), datetime.min.time(), UTC)
    return math.ceil((tomorrow - datetime.now(UTC)).total_seconds())


class UserLimits:
    """What each user may use, and what they have used."""

    def __init__(
        self, usage: UsageLedger, rate: RateBuckets | None, daily_tokens: int | None
    ) -> None:
        self.usage = usage
        self._rate = rate
        self._daily_tokens = daily_tokens

    async def admit(self, user_id: str) -> None:
        """Let one more turn of `user_id` through, or refuse it.

        The quota is checked first, so a refused message does not spend a rate token.

        Raises:
            QuotaExceeded: Today's tokens are used up.
            RateLimited: Too many messages this minute; `retry_after` says how long to wait.
        """
        if self._daily_tokens is not None:
            used = await self.usage.tokens_today(user_id)
            if used >= self._daily_tokens:
                raise QuotaExceeded(retry_after=_seconds_to_midnight())
        if self._rate is not None:
            wait = await self._rate.take(user_id)
            if wait > 0:
                raise RateLimited(retry_after=round(wait, 2))

    def spent(self, user_id: str, tokens: int) -> None:
        """Count a finished turn of `user_id` that used `tokens` model tokens."""
        self.usage.add(user_id, tokens)

    async def forget(self, user_id: str) -> None:
        """Erase what is recorded of the user (erasure)."""
        await self.usage.forget(user_id)
        if self._rate is not None:
            await self._rate.forget(user_id)
