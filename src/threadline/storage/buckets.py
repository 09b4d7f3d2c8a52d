"""Per-user rates as token buckets in the database, so every server enforces one limit."""

from __future__ import annotations

from threadline.storage.database import Pool

__all__ = ("TAKE_RESERVED", "RateBuckets")

# One statement takes a token if the bucket, refilled for the time since its last use,
# holds one; the row lock orders concurrent takers on any server.
_TAKE = """
INSERT INTO threadline_rate_buckets AS bucket (user_id, tokens, updated_at)
VALUES (%(user)s, %(capacity)s - 1, now())
ON CONFLICT (user_id) DO UPDATE SET
    tokens = LEAST(%(capacity)s,
        bucket.tokens + extract(epoch FROM now() - bucket.updated_at) * %(rate)s) - 1,
    updated_at = now()
WHERE LEAST(%(capacity)s,
    bucket.tokens + extract(epoch FROM now() - bucket.updated_at) * %(rate)s) >= 1
RETURNING tokens
"""
# The same take, in a statement that first reserves the turn's tokens (`usage.reserve`):
# only if its CTE `reserved` has a row, so a message the quota refuses spends no token.
TAKE_RESERVED = """
    INSERT INTO threadline_rate_buckets AS bucket (user_id, tokens, updated_at)
    SELECT %(user)s, %(capacity)s - 1, now() FROM reserved
    ON CONFLICT (user_id) DO UPDATE SET
        tokens = LEAST(%(capacity)s,
            bucket.tokens + extract(epoch FROM now() - bucket.updated_at) * %(rate)s) - 1,
        updated_at = now()
    WHERE LEAST(%(capacity)s,
        bucket.tokens + extract(epoch FROM now() - bucket.updated_at) * %(rate)s) >= 1
    RETURNING tokens"""
_LEVEL = """
SELECT LEAST(%(capacity)s,
    tokens + extract(epoch FROM now() - updated_at) * %(rate)s) AS tokens
FROM threadline_rate_buckets WHERE user_id = %(user)s
"""


class RateBuckets:
    """`per_minute` actions per user and minute, in bursts of up to `per_minute`."""

    def __init__(self, pool: Pool, per_minute: int) -> None:
        self._pool = pool
        self._params = {"capacity": float(per_minute), "rate": per_minute / 60.0}

    async def take(self, user_id: str) -> float:
        """Spend one of the user's tokens.

        Returns:
            0 if it was spent; otherwise the seconds until one is available.
        """
        params = {**self._params, "user": user_id}
        async with self._pool.connection() as conn:
            if await (await conn.execute(_TAKE, params)).fetchone() is not None:
                return 0.0
        return await self.wait(user_id)

    @property
    def params(self) -> dict[str, float]:
        """The bucket's `capacity` and `rate` (per second), for a statement that takes too."""
        return dict(self._params)

    async def wait(self, user_id: str) -> float:
        """The seconds until one of the user's tokens is available (at least 0.01)."""
        params = {**self._params, "user": user_id}
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_LEVEL, params)).fetchone()
        level = float(row["tokens"]) if row is not None else 0.0
        return max((1.0 - level) / self._params["rate"], 0.01)

    async def forget(self, user_id: str) -> None:
        """Drop the user's bucket (erasure)."""
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM threadline_rate_buckets WHERE user_id = %s", (user_id,))
