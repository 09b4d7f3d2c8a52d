"""Model tokens and messages per user and UTC day.

Turns add to an in-memory tally that is written once a second in one statement, so
metering costs a turn nothing on its path. The process's own unwritten tally counts in
every read it answers; other servers see it once written, a second later at most.

Under a daily quota, a turn first reserves tokens in the database itself (`reserve`): one
statement adds them only if the day's count stays within the quota, so turns starting at
once on several servers cannot all pass. The reservation counts as used until the turn
adds the difference between what it really used and what it reserved (`add`).
Under a message rate too, the same statement takes the turn's rate token
(`reserve_taking`): one round trip admits the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime
from typing import Any, LiteralString, TypeVar

import msgspec

from threadline.storage.buckets import TAKE_RESERVED, RateBuckets
from threadline.storage.database import Pool

__all__ = ("DayUsage", "UsageLedger", "today")

logger = logging.getLogger(__name__)

K = TypeVar("K")

# Tokens may be negative (a turn gives back the unused part of its reservation); a count
# never goes below zero, as it could only after an erasure in the middle of a turn.
_ADD = """
INSERT INTO threadline_usage AS usage (user_id, day, tokens, messages)
VALUES (%s, %s, GREATEST(%s, 0), %s)
ON CONFLICT (user_id, day) DO UPDATE
    SET tokens = GREATEST(usage.tokens + %s, 0), messages = usage.messages + excluded.messages
"""
# Adds only if the day's tokens stay within the quota; the row's lock orders concurrent
# reservations, on every server.
_RESERVE = """
INSERT INTO threadline_usage AS usage (user_id, day, tokens, messages)
SELECT %(user)s, %(day)s, %(add)s, 0 WHERE %(add)s <= %(quota)s
ON CONFLICT (user_id, day) DO UPDATE SET tokens = usage.tokens + excluded.tokens
    WHERE usage.tokens + excluded.tokens <= %(quota)s
RETURNING usage.tokens
"""
# The same, and a rate token taken only if reserved (`buckets.TAKE_RESERVED`): a row only
# if reserved, saying whether the token was taken. Both row locks in one order, always.
_TAKEN = """
SELECT EXISTS (SELECT 1 FROM taken) AS taken FROM reserved
"""
_RESERVE_TAKING = "WITH reserved AS (" + _RESERVE + "), taken AS (" + TAKE_RESERVED + ")" + _TAKEN
_DAYS = """
SELECT day, tokens, messages FROM threadline_usage
WHERE user_id = %s AND day > %s::date - %s ORDER BY day DESC
"""


class DayUsage(msgspec.Struct):
    """One user's use of the model on one UTC day."""

    day: date
    tokens: int
    messages: int


def _count(tally: dict[K, list[int]], key: K, tokens: int, messages: int) -> None:
    """Add to `tally[key]`, a `[tokens, messages]` pair."""
    counts = tally.setdefault(key, [0, 0])
    counts[0] += tokens
    counts[1] += messages


def today() -> date:
    """The current UTC day, which quotas count by."""
    return datetime.now(UTC).date()


class UsageLedger:
    """Records usage, and answers how much a user has used."""

    def __init__(self, pool: Pool, *, flush_every: float = 1.0) -> None:
        self._pool = pool
        self._flush_every = flush_every
        self._tally: dict[tuple[str, date], list[int]] = {}
        self._writer: asyncio.Task[None] | None = None

    def add(self, user_id: str, tokens: int, messages: int = 1, day: date | None = None) -> None:
        """Count a turn of `user_id` that used `tokens` model tokens (negative: released).

        Args:
            user_id: Whose usage.
            tokens: Tokens to add; a turn that reserved adds what it used minus that.
            messages: Messages to add.
            day: The UTC day to count on (a turn's reservation's); default today.
        """
        _count(self._tally, (user_id, day or today()), tokens, messages)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon())

    async def reserve(self, user_id: str, day: date, tokens: int, quota: int) -> bool:
        """Add `tokens` to the user's count for `day` if it stays within `quota`.

        Atomic in the database: of reservations made at once, on any servers, only those
        that fit together pass. This process's unwritten tokens for the day (what its turns
        gave back a moment ago) go in the same statement, so they count, once; another
        server's are at most a second old.

        Returns:
            Whether the tokens were reserved.
        """
        return await self._reserved(_RESERVE, user_id, day, tokens, quota, {}) is not None

    async def reserve_taking(
        self, user_id: str, day: date, tokens: int, quota: int, rate: RateBuckets
    ) -> tuple[bool, bool]:
        """`reserve`, then take one of the user's rate tokens if reserved: one statement.

        A turn's admission under both limits, in one round trip; as `reserve` then
        `RateBuckets.take`, but that no other statement can come in between.

        Returns:
            Whether the tokens were reserved, and whether a rate token was taken (never
            when they were not reserved).
        """
        row = await self._reserved(_RESERVE_TAKING, user_id, day, tokens, quota, rate.params)
        return (False, False) if row is None else (True, bool(row["taken"]))

    async def _reserved(  # noqa: PLR0913, PLR0917 - the reservation's facts, each named
        self,
        statement: LiteralString,
        user_id: str,
        day: date,
        tokens: int,
        quota: int,
        extra: dict[str, float],
    ) -> dict[str, Any] | None:
        """Run a reserving statement; its row, or None if nothing was reserved."""
        key = (user_id, day)
        counts = self._tally.get(key)
        unwritten, carried = (counts[0], counts) if counts else (0, None)
        if carried is not None:
            carried[0] = 0  # in this statement now, not in the next write
        values = {"user": user_id, "day": day, "add": unwritten + tokens, "quota": quota, **extra}
        try:
            async with self._pool.connection() as conn:
                row: dict[str, Any] | None = await (
                    await conn.execute(statement, values)
                ).fetchone()
        except BaseException:
            self.add(user_id, unwritten, 0, day=day)
            raise
        if row is None:
            self.add(user_id, unwritten, 0, day=day)  # for the next write, as before
        return row

    async def days(self, user_id: str, count: int = 30) -> list[DayUsage]:
        """The user's usage over the last `count` days, newest first (days unused left out)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_DAYS, (user_id, today(), count))).fetchall()
        totals = {row["day"]: [int(row["tokens"]), int(row["messages"])] for row in rows}
        for (user, day), (tokens, messages) in self._tally.items():
            if user == user_id:
                _count(totals, day, tokens, messages)
        return [DayUsage(day, *totals[day]) for day in sorted(totals, reverse=True)]

    async def flush(self) -> None:
        """Write the tally now; on failure it is kept for the next write."""
        tally, self._tally = self._tally, {}
        rows = [
            (user, day, tokens, messages, tokens)
            for (user, day), (tokens, messages) in tally.items()
        ]
        if not rows:
            return
        try:
            async with self._pool.connection() as conn, conn.cursor() as cursor:
                await cursor.executemany(_ADD, rows)
        except Exception as error:  # noqa: BLE001 - kept and written at the next beat
            logger.warning("usage.write_failed", extra={"error": type(error).__name__})
            for key, (tokens, messages) in tally.items():
                _count(self._tally, key, tokens, messages)

    async def forget(self, user_id: str) -> None:
        """Erase the user's usage (erasure)."""
        for key in [key for key in self._tally if key[0] == user_id]:
            del self._tally[key]
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM threadline_usage WHERE user_id = %s", (user_id,))

    async def close(self) -> None:
        """Write what is left (at shutdown)."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self.flush()

    async def _write_soon(self) -> None:
        while self._tally:
            await asyncio.sleep(self._flush_every)
            await self.flush()
