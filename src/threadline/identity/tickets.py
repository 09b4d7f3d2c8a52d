"""WebSocket tickets, single-use and short-lived, passed in the socket's URL.

Browsers cannot set headers on a socket, so they trade their credential for a ticket.

Tickets live in the database (by hash), so a ticket issued by one server is good on any.
"""

from __future__ import annotations

import hashlib
import secrets

from threadline.identity.principal import Principal, Unauthenticated
from threadline.storage.database import Pool

__all__ = ("TICKET_SECONDS", "Tickets")

TICKET_SECONDS = 30

_ISSUE = """
INSERT INTO threadline_ws_tickets
    (ticket_hash, user_id, admin, credential_expires_at, expires_at, key_id)
VALUES (%s, %s, %s, to_timestamp(%s), now() + %s * interval '1 second', %s)
"""
# Redeeming deletes: a ticket works once, even when two servers race to redeem it. One
# bought with an API key is good only while the key is: revoked meanwhile, it is refused.
_REDEEM = """
DELETE FROM threadline_ws_tickets t WHERE ticket_hash = %s AND expires_at > now()
RETURNING user_id, admin, extract(epoch FROM credential_expires_at) AS expires_at, key_id,
    key_id IS NULL OR EXISTS (
        SELECT FROM threadline_api_keys k WHERE k.key_id = t.key_id AND k.revoked_at IS NULL
    ) AS live
"""
_PURGE = "DELETE FROM threadline_ws_tickets WHERE expires_at < now() - interval '1 minute'"


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class Tickets:
    """Issues and redeems WebSocket tickets."""

    def __init__(self, pool: Pool, seconds: int = TICKET_SECONDS) -> None:
        self._pool = pool
        self.seconds = seconds

    async def issue(self, principal: Principal) -> str:
        """A ticket that opens one socket as `principal`, within `seconds`.

        The ticket carries the credential's expiry, so a socket opened with it still
        closes when the token it was bought with expires; and its API key, so that it
        closes when the key is revoked.
        """
        ticket = secrets.token_urlsafe(32)
        params = (
            _hash(ticket),
            principal.user_id,
            principal.admin,
            principal.expires_at,
            self.seconds,
            principal.key_id,
        )
        async with self._pool.connection() as conn:
            await conn.execute(_PURGE)  # tickets never redeemed would pile up otherwise
            await conn.execute(_ISSUE, params)
        return ticket

    async def redeem(self, ticket: str) -> Principal:
        """The principal the ticket was issued to; the ticket is used up.

        Raises:
            Unauthenticated: Unknown, used or expired, or its API key was revoked.
        """
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_REDEEM, (_hash(ticket),))).fetchone()
        if row is None:
            raise Unauthenticated("the ticket is unknown, used or expired")
        if not row["live"]:
            raise Unauthenticated("the API key this ticket was bought with has been revoked")
        expires_at = row["expires_at"]
        expiry = None if expires_at is None else float(expires_at)
        return Principal(row["user_id"], row["admin"], expiry, "ticket", row["key_id"])
