"""A revoked API key's open sockets, found on every server within seconds.

A revocation is a row in the database, written by `threadline api-key revoke` (a
process of its own, with no server in it) or by `DELETE /admin/api-keys/{id}` on any
server. Each server process asks every `CHECK_EVERY` seconds which of the keys its open
sockets were opened with (directly or through a ticket) are revoked now, and ends those
sockets. One indexed query per process and round, whatever the number of sockets, and
none while no open socket came with a key.

A notice between processes (LISTEN/NOTIFY) would arrive sooner, but the CLI runs no
server to send it, and a notice sent while a process's listener reconnects is lost, which
would need this very re-check to recover from: the re-check alone covers every case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from threadline.storage.database import Pool
from threadline.storage.periodic import every, stopped

__all__ = ("CHECK_EVERY", "Revocations")

logger = logging.getLogger(__name__)

# Seconds between two looks at the keys of this process's open sockets.
CHECK_EVERY = 2.0

_REVOKED = """
SELECT key_id FROM threadline_api_keys WHERE key_id = ANY(%s) AND revoked_at IS NOT NULL
"""


class Revocations:
    """The API keys of this process's open sockets, and who to tell once one is revoked."""

    def __init__(self, pool: Pool, seconds: float = CHECK_EVERY) -> None:
        self._pool = pool
        self._seconds = seconds
        self._watching: dict[str, list[Callable[[], None]]] = {}

    def watch(self, key_id: str, revoked: Callable[[], None]) -> Callable[[], None]:
        """Call `revoked` (once) when key `key_id` is found revoked.

        Returns:
            What stops watching (the socket closed first).
        """
        self._watching.setdefault(key_id, []).append(revoked)

        def unwatch() -> None:
            told = self._watching.get(key_id, [])
            if revoked in told:
                told.remove(revoked)
            if not told:
                self._watching.pop(key_id, None)

        return unwatch

    async def check(self) -> None:
        """One look: tell the watchers of every key revoked by now."""
        if not self._watching:
            return
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_REVOKED, (list(self._watching),))
            rows = await cursor.fetchall()
        for row in rows:
            for revoked in self._watching.pop(row["key_id"], []):
                revoked()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Look every `CHECK_EVERY` seconds while the block runs (the server's lifespan)."""
        task = asyncio.create_task(every(self._seconds, self.check, logger, "revocations.failed"))
        try:
            yield
        finally:
            await stopped(task)
