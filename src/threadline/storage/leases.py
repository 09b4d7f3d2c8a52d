"""One turn at a time per conversation, across every process that shares the database.

A lease row per running turn, not a session advisory lock: an advisory lock pins a pooled
connection for the whole turn (seconds, with a real model), so concurrent turns beyond the
pool size starve the pool. A lease costs one statement to take and one to give back, holds
no connection in between, is renewed while the turn runs, and expires if its holder dies.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString, NamedTuple

from psycopg import sql

from threadline.storage.database import Pool
from threadline.storage.periodic import every, stopped

__all__ = ("Also", "Condition", "ConversationLocks", "Lease", "LeaseHeld", "NotAllowed")

logger = logging.getLogger(__name__)

_TAKE = """
INSERT INTO threadline_turn_leases AS lease (conversation_id, holder, expires_at)
VALUES (%(id)s, %(holder)s, now() + %(ttl)s * interval '1 second')
ON CONFLICT (conversation_id) DO UPDATE
    SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE lease.expires_at < now()
RETURNING holder
"""
# The same, taken only while `condition` holds, checked in the same statement: what the
# turn needs true under its lease (that the conversation is still its user's) costs no
# round trip of its own, nor what it does first once it holds it (`Also`).
_TAKE_IF = """
WITH allowed AS (SELECT ({condition}) AS ok),
taken AS (
    INSERT INTO threadline_turn_leases AS lease (conversation_id, holder, expires_at)
    SELECT %(id)s, %(holder)s, now() + %(ttl)s * interval '1 second' FROM allowed WHERE ok
    ON CONFLICT (conversation_id) DO UPDATE
        SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE lease.expires_at < now()
    RETURNING holder
){ctes}
SELECT ok AS allowed, EXISTS (SELECT 1 FROM taken) AS taken{columns} FROM allowed
"""
_RENEW = """
UPDATE threadline_turn_leases SET expires_at = now() + %(ttl)s * interval '1 second'
WHERE conversation_id = %(id)s AND holder = %(holder)s
"""
_GIVE_BACK = (
    "DELETE FROM threadline_turn_leases WHERE conversation_id = %(id)s AND holder = %(holder)s"
)
# Giving the lease back in the statement that records what the turn did: `{then}` is an
# UPDATE ... RETURNING whose row comes back.
_GIVE_BACK_WITH = """
WITH given_back AS (
    DELETE FROM threadline_turn_leases WHERE conversation_id = %(id)s AND holder = %(holder)s
)
{then}
"""
_HOLDER = (
    "SELECT holder FROM threadline_turn_leases WHERE conversation_id = %s AND expires_at > now()"
)


class LeaseHeld(Exception):
    """Another turn of the conversation holds the lease and the caller chose not to wait."""


class NotAllowed(Exception):
    """The condition the lease was asked under is false (the lease was not taken)."""


class Condition(NamedTuple):
    """An SQL boolean expression, and its parameters.

    Named parameters, none of them the lease's own `id`, `holder` or `ttl`.
    """

    sql: LiteralString
    params: dict[str, object]


class Also(NamedTuple):
    """More for the statement that takes a lease to do, in the same round trip.

    `ctes` (each `, name AS (...)`) come after the CTE `taken`, which has a row only if the
    lease was taken: a write meant for the holder only checks it. `columns` (each
    `, expression AS name`) are read into `Lease.found`. Named parameters, none of them
    the lease's own `id`, `holder` or `ttl`. Everything sees the database as it was
    before the statement.
    """

    ctes: LiteralString
    columns: LiteralString
    params: dict[str, object]


class Lease:
    """A lease being held: given back when its block ends, or earlier with a last statement.

    Attributes:
        found: The columns of the `Also`s, read in the statement that took the lease.
    """

    def __init__(self, pool: Pool, params: dict[str, object], found: dict[str, Any]) -> None:
        self._pool = pool
        self._params = params
        self.found = found
        self.given_back = False

    async def give_back_with(self, then: Condition) -> dict[str, Any] | None:
        """Give the lease back, and run `then` (an UPDATE ... RETURNING) in the same statement.

        One round trip for both. Returns `then`'s row, if any.
        """
        query = sql.SQL(_GIVE_BACK_WITH).format(then=sql.SQL(then.sql))
        async with self._pool.connection() as conn:
            row = await (await conn.execute(query, {**then.params, **self._params})).fetchone()
        self.given_back = True
        return row


class ConversationLocks:
    """Leases on conversations, taken for the duration of a turn."""

    def __init__(
        self, pool: Pool, *, ttl: float = 30.0, poll: float = 0.05, process_id: str = "-"
    ) -> None:
        self._pool = pool
        self._ttl = ttl
        self._poll = poll
        # Holders are "<process>/<turn>": who holds a lease says which process runs the turn.
        self._process_id = process_id

    async def holder_of(self, conversation_id: str) -> str | None:
        """The process whose turn holds the conversation's lease now, if one does."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_HOLDER, (conversation_id,))
            row = await cursor.fetchone()
        return None if row is None else str(row["holder"]).split("/", 1)[0]

    @asynccontextmanager
    async def hold(
        self,
        conversation_id: str,
        *,
        wait: bool = True,
        only_if: Condition | None = None,
        also: Sequence[Also] = (),
    ) -> AsyncIterator[Lease]:
        """Hold the conversation's lease for the block (or until its `give_back_with`).

        Args:
            conversation_id: The conversation to lock.
            wait: Wait for the lease; if False and it is held, raise `LeaseHeld`.
            only_if: Take it only while this holds (checked at each try); else raise
                `NotAllowed`.
            also: What the statement taking the lease does and reads besides.
        """
        holder = f"{self._process_id}/{secrets.token_hex(8)}"
        params = {"id": conversation_id, "holder": holder, "ttl": self._ttl}
        # Only turns on another server wait here (this server's lanes already queue them),
        # so polling is rare and cheap.
        while (taken := await self._take(params, only_if, also)) is None:
            if not wait:
                raise LeaseHeld
            await asyncio.sleep(self._poll)
        renewing = asyncio.create_task(
            every(self._ttl / 3, lambda: self._renew(params), logger, "lease.renew_failed")
        )
        lease = Lease(self._pool, params, taken)
        try:
            yield lease
        finally:
            await stopped(renewing)
            if not lease.given_back:
                await self._give_back(params)

    async def _take(
        self, params: dict[str, object], only_if: Condition | None, also: Sequence[Also]
    ) -> dict[str, Any] | None:
        """The statement's row if the lease was taken, else None."""
        async with self._pool.connection() as conn:
            if only_if is None and not also:
                return await (await conn.execute(_TAKE, params)).fetchone()
            condition = only_if or Condition("TRUE", {})
            query = sql.SQL(_TAKE_IF).format(
                condition=sql.SQL(condition.sql),
                ctes=sql.SQL("").join(sql.SQL(more.ctes) for more in also),
                columns=sql.SQL("").join(sql.SQL(more.columns) for more in also),
            )
            values = {**condition.params, **params}
            for more in also:
                values.update(more.params)
            row = await (await conn.execute(query, values)).fetchone()
        if row is None or not row["allowed"]:
            raise NotAllowed
        return row if row["taken"] else None

    async def _renew(self, params: dict[str, object]) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_RENEW, params)

    async def _give_back(self, params: dict[str, object]) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute(_GIVE_BACK, params)
        except Exception as error:  # noqa: BLE001 - it expires by itself
            logger.warning("lease.release_failed", extra={"error": type(error).__name__})
