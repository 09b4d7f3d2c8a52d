"""Open sockets per user, counted across every server that shares the database.

Each socket holds a seat row while it is open. The server renews its rows together, so
a server that dies leaves seats that expire, rather than users locked out for good.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from threadline.storage.database import Pool
from threadline.storage.periodic import every, stopped

__all__ = ("SocketSeats",)

logger = logging.getLogger(__name__)

_CLAIM = """
INSERT INTO threadline_socket_seats (seat_id, user_id, holder, expires_at)
SELECT %(seat)s, %(user)s, %(holder)s, now() + %(ttl)s * interval '1 second'
WHERE (SELECT count(*) FROM threadline_socket_seats
       WHERE user_id = %(user)s AND expires_at > now()) < %(limit)s
"""

_PURGE = "DELETE FROM threadline_socket_seats WHERE user_id = %s AND expires_at < now()"


class SocketSeats:
    """At most `limit` open sockets per user."""

    def __init__(self, pool: Pool, limit: int, *, ttl: float = 60.0) -> None:
        self._pool = pool
        self._limit = limit
        self._ttl = ttl
        self._holder = secrets.token_hex(8)
        self._renewing: asyncio.Task[None] | None = None

    async def claim(self, user_id: str) -> str | None:
        """Take a seat for a new socket of `user_id`; None if all are taken."""
        seat = secrets.token_hex(8)
        params = {
            "seat": seat,
            "user": user_id,
            "holder": self._holder,
            "ttl": self._ttl,
            "limit": self._limit,
        }
        async with self._pool.connection() as conn, conn.transaction():
            # Serializes claims of one user, so two servers cannot both take the last seat.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (user_id,))
            await conn.execute(_PURGE, (user_id,))  # seats of servers that died
            taken = (await conn.execute(_CLAIM, params)).rowcount == 1
        if taken and (self._renewing is None or self._renewing.done()):
            self._renewing = asyncio.create_task(
                every(self._ttl / 3, self._renew, logger, "seat.renew_failed")
            )
        return seat if taken else None

    async def release(self, seat: str) -> None:
        """Give a seat back (its socket closed)."""
        try:
            async with self._pool.connection() as conn:
                await conn.execute(
                    "DELETE FROM threadline_socket_seats WHERE seat_id = %s", (seat,)
                )
        except Exception as error:  # noqa: BLE001 - it expires by itself
            logger.warning("seat.release_failed", extra={"error": type(error).__name__})

    async def close(self) -> None:
        """Stop renewing (at shutdown); this server's seats then expire."""
        await stopped(self._renewing)

    async def _renew(self) -> None:
        renew = """
        UPDATE threadline_socket_seats SET expires_at = now() + %s * interval '1 second'
        WHERE holder = %s
        """
        async with self._pool.connection() as conn:
            await conn.execute(renew, (self._ttl, self._holder))
