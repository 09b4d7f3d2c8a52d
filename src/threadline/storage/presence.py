"""Who has sockets open where: a row per server process, and its socket count per user.

Each process renews its own row every third of `ttl`; a process that stops renewing (one
killed with SIGKILL) drops out of every total once `ttl` has passed, and its rows are
purged later. Counts change as sockets open and close, one statement each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Callable

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from threadline.storage.database import Pool
from threadline.storage.periodic import every, stopped

__all__ = ("PresenceBoard",)

logger = logging.getLogger(__name__)

_BEAT = """
WITH beat AS (
    INSERT INTO threadline_processes AS p (process_id, seen_at) VALUES (%(me)s, now())
    ON CONFLICT (process_id) DO UPDATE SET seen_at = now()
    RETURNING (xmax = 0) AS new
), purged AS (
    DELETE FROM threadline_processes
    WHERE seen_at < now() - %(ttl)s * 10 * interval '1 second' AND process_id <> %(me)s
)
SELECT (SELECT new FROM beat) AS new, array(
    SELECT process_id FROM threadline_processes
    WHERE seen_at > now() - %(ttl)s * interval '1 second' AND process_id <> %(me)s
) AS others
"""
_OPENED = """
INSERT INTO threadline_presence AS p (process_id, user_id, sockets) VALUES (%(me)s, %(user)s, 1)
ON CONFLICT (user_id, process_id) DO UPDATE SET sockets = p.sockets + 1
"""
_CLOSED = """
WITH less AS (
    UPDATE threadline_presence SET sockets = sockets - 1
    WHERE process_id = %(me)s AND user_id = %(user)s RETURNING sockets
)
DELETE FROM threadline_presence
WHERE process_id = %(me)s AND user_id = %(user)s AND (SELECT sockets FROM less) <= 0
"""
_TOTAL = """
SELECT coalesce(sum(p.sockets), 0)::int AS sockets
FROM threadline_presence p JOIN threadline_processes s USING (process_id)
WHERE p.user_id = %(user)s AND s.seen_at > now() - %(ttl)s * interval '1 second'
"""
_OTHERS_USERS = """
SELECT p.process_id, p.user_id
FROM threadline_presence p JOIN threadline_processes s USING (process_id)
WHERE p.process_id <> %(me)s AND s.seen_at > now() - %(ttl)s * interval '1 second'
"""


class PresenceBoard:
    """This process's row, its sockets per user, and the totals across processes."""

    def __init__(self, pool: Pool, process_id: str, ttl: float) -> None:
        self._pool = pool
        self.process_id = process_id
        self._ttl = ttl
        self._open: Counter[str] = Counter()
        self._beating: asyncio.Task[None] | None = None
        # A count that failed to reach the database (an outage): the next beat rewrites all.
        self._dirty = False

    async def join(self, on_beat: Callable[[set[str]], None]) -> None:
        """Register this process, and keep its row fresh until `leave`.

        Args:
            on_beat: Called after each beat with the processes alive now.
        """
        beat = functools.partial(self._beat, on_beat)
        await beat()
        self._beating = asyncio.create_task(
            every(self._ttl / 3, beat, logger, "presence.beat_failed")
        )

    async def leave(self) -> None:
        """Remove this process and its sockets from every total (a clean shutdown)."""
        await stopped(self._beating)
        with contextlib.suppress(Exception):
            async with self._pool.connection() as conn:
                await conn.execute(
                    "DELETE FROM threadline_processes WHERE process_id = %s", (self.process_id,)
                )

    async def opened(self, user_id: str) -> None:
        """Count a socket of `user_id` as open on this process."""
        self._open[user_id] += 1
        await self._write(_OPENED, {"me": self.process_id, "user": user_id})

    async def closed(self, user_id: str) -> None:
        """Count one socket of `user_id` fewer (it closed)."""
        self._open[user_id] -= 1
        if self._open[user_id] <= 0:
            del self._open[user_id]
        await self._write(_CLOSED, {"me": self.process_id, "user": user_id})

    async def _write(self, statement: str, params: dict[str, str]) -> None:
        """Change a count; one that fails (an outage) is rewritten at the next beat."""
        try:
            async with self._pool.connection() as conn:
                await conn.execute(statement, params)
        except Exception as error:  # noqa: BLE001 - counted in memory; the beat catches up
            self._dirty = True
            logger.warning("presence.update_failed", extra={"error": type(error).__name__})

    async def connections(self, user_id: str) -> int:
        """How many sockets `user_id` has open across the live processes."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_TOTAL, {"user": user_id, "ttl": self._ttl})).fetchone()
        return int(row["sockets"]) if row else 0

    async def elsewhere(self) -> list[tuple[str, str]]:
        """`(process_id, user_id)` of every user with sockets on another live process."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_OTHERS_USERS, {"me": self.process_id, "ttl": self._ttl})
            return [(row["process_id"], row["user_id"]) for row in await cursor.fetchall()]

    async def _beat(self, on_beat: Callable[[set[str]], None]) -> None:
        params = {"me": self.process_id, "ttl": self._ttl}
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(_BEAT, params)).fetchone()
            assert row is not None  # noqa: S101 - the statement always returns a row
            # Purged while unreachable, or a count was lost: this process's counts again.
            rewrite = row["new"] or self._dirty
            if rewrite:
                await self._rewrite(conn)
        if rewrite:
            self._dirty = False
        on_beat(set(row["others"]))

    async def _rewrite(self, conn: AsyncConnection[DictRow]) -> None:
        await conn.execute(
            "DELETE FROM threadline_presence WHERE process_id = %s", (self.process_id,)
        )
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO threadline_presence VALUES (%s, %s, %s)"
                " ON CONFLICT (user_id, process_id) DO UPDATE SET sockets = excluded.sockets",
                [(self.process_id, user, sockets) for user, sockets in self._open.items()],
            )
