"""A turn's statements: one turn at a time per conversation, across every process.

A lease row per running turn, not a session advisory lock: an advisory lock pins a pooled
connection for the whole turn (seconds, with a real model), so concurrent turns beyond the
pool size starve the pool. A lease costs one statement to take and one to give back, holds
no connection in between, is renewed while the turn runs, and expires if its holder dies.

The statement that takes it also does what the turn needs first, in the same round trip:
it checks that the conversation is still its user's, reads the thread's latest checkpoint
and its number of writes (the mirror is trusted only if they agree with it), and stores a
new message's inputs on that checkpoint (`pending`). The statement that gives it back
records the sidebar's view of the conversation. Every statement is written here whole,
and run with exactly its placeholders, each named once in the call that binds it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, LiteralString, NamedTuple

from langgraph._internal._constants import INTERRUPT, NULL_TASK_ID

from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
from threadline.storage.database import Pool
from threadline.storage.namespaces import user_prefix
from threadline.storage.periodic import every, stopped

__all__ = ("ConversationLocks", "Lease", "LeaseHeld", "NotAllowed", "Stored", "store_inputs")

logger = logging.getLogger(__name__)

# The thread's latest checkpoint (ids are time-ordered uuid6, as the saver's `get_tuple`
# picks it), whether a run stopped there at an interrupt (a tool call waiting for approval:
# a message then would land between a call and its result), and the inputs stored on it as
# writes of the null task, unless that, or inputs already waiting there (`DO NOTHING`).
# `taken` has a row only if the turn holds the lease; `%(blob)s` NULL stores nothing.
_INPUTS = """
latest AS (
    SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints
    WHERE thread_id = %(id)s AND checkpoint_ns = ''
    ORDER BY checkpoint_id DESC
    LIMIT 1
), interrupted AS (
    SELECT 1 FROM checkpoint_writes w JOIN latest USING (thread_id, checkpoint_ns, checkpoint_id)
    WHERE w.channel = %(interrupt)s
), stored AS (
    INSERT INTO checkpoint_writes
        (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
    SELECT thread_id, checkpoint_ns, checkpoint_id, %(task)s, '', 0, %(channel)s, %(type)s,
           %(blob)s
    FROM latest
    WHERE %(blob)s::bytea IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM interrupted) AND EXISTS (SELECT 1 FROM taken)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO NOTHING
    RETURNING checkpoint_id
)"""
_STORED = """
    (SELECT checkpoint_id FROM stored) AS stored,
    EXISTS (SELECT 1 FROM latest) AS existing,
    EXISTS (SELECT 1 FROM interrupted) AS interrupted"""
# Taken only while the conversation is the user's (`%(owner)s` NULL: no check). `observed`
# is the latest checkpoint and its writes as one text, "<checkpoint id> <writes>" (NULL for
# a thread with none). Every part sees the database as it was before the statement.
_LEASE = """
WITH allowed AS (
    SELECT %(owner)s::text IS NULL
        OR EXISTS (SELECT 1 FROM store WHERE prefix = %(owner)s AND key = %(id)s) AS ok
), taken AS (
    INSERT INTO threadline_turn_leases AS lease (conversation_id, holder, expires_at)
    SELECT %(id)s, %(holder)s, now() + %(ttl)s * interval '1 second' FROM allowed WHERE ok
    ON CONFLICT (conversation_id) DO UPDATE
        SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE lease.expires_at < now()
    RETURNING holder
),"""
_OBSERVED = """
SELECT ok AS allowed, EXISTS (SELECT 1 FROM taken) AS taken,
    (SELECT checkpoint_id || ' ' || (SELECT count(*) FROM checkpoint_writes
        JOIN latest USING (thread_id, checkpoint_ns, checkpoint_id)) FROM latest) AS observed,"""
_TAKE = _LEASE + _INPUTS + _OBSERVED + _STORED + "\nFROM allowed"
# The same store, by a turn that holds the lease already.
_STORE = "WITH taken AS (SELECT 1)," + _INPUTS + "\nSELECT" + _STORED
_RENEW = """
UPDATE threadline_turn_leases SET expires_at = now() + %(ttl)s * interval '1 second'
WHERE conversation_id = %(id)s AND holder = %(holder)s
"""
_GIVE_BACK = (
    "DELETE FROM threadline_turn_leases WHERE conversation_id = %(id)s AND holder = %(holder)s"
)
# Given back in the statement that records the turn in the conversation's index entry (an
# item of LangGraph's store: a change merged into its value, atomic with a rename).
_GIVE_BACK_RECORDING = """
WITH given_back AS (
    DELETE FROM threadline_turn_leases WHERE conversation_id = %(id)s AND holder = %(holder)s
)
UPDATE store SET updated_at = now(), value = value || %(patch)s::jsonb
WHERE prefix = %(owner)s AND key = %(id)s
RETURNING value->>'title' AS title, updated_at
"""
_HOLDER = """
SELECT holder FROM threadline_turn_leases WHERE conversation_id = %(id)s AND expires_at > now()
"""


@functools.cache
def _placeholders(statement: str) -> frozenset[str]:
    return frozenset(re.findall(r"%\((\w+)\)s", statement))


def _bound(statement: LiteralString, **params: object) -> dict[str, object]:
    """`params` for `statement`, which must be exactly its placeholders.

    Each name is given once, as a keyword of this call: one name given twice is an error
    (a `TypeError`, or a `SyntaxError` when written twice), never a value overwritten.
    """
    if (names := _placeholders(statement)) != params.keys():
        raise ValueError(f"parameters {sorted(params)} do not match {sorted(names)}")
    return params


def _inputs(inputs: tuple[str, bytes] | None) -> dict[str, object]:
    """The parameters of `_INPUTS`, but for the thread's id (no blob: nothing is stored)."""
    kind, blob = inputs or (None, None)
    return {
        "interrupt": INTERRUPT,
        "task": NULL_TASK_ID,
        "channel": MESSAGES_CHANNEL,
        "type": kind,
        "blob": blob,
    }


class LeaseHeld(Exception):
    """Another turn of the conversation holds the lease and the caller chose not to wait."""


class NotAllowed(Exception):
    """The conversation is not the user's (the lease was not taken)."""


class Stored(NamedTuple):
    """What the store of a turn's inputs did."""

    on: str | None  # the checkpoint they were stored on; None: not stored
    existing: bool  # the thread has a checkpoint
    interrupted: bool  # its run waits for the user's approval there


async def store_inputs(pool: Pool, thread_id: str, inputs: tuple[str, bytes]) -> Stored:
    """Store a turn's inputs (their serialized type and blob) on the thread's latest checkpoint.

    For a turn that holds the thread's lease, when the statement that took it did not.
    """
    params = _bound(_STORE, id=thread_id, **_inputs(inputs))
    async with pool.connection() as conn:
        row = await (await conn.execute(_STORE, params)).fetchone()
    assert row is not None  # noqa: S101 - a SELECT without FROM has its row
    return Stored(row["stored"], row["existing"], row["interrupted"])


class Lease:
    """A lease being held: given back when its block ends, or earlier with its last statement.

    Attributes:
        observed: The thread's latest checkpoint and its writes when the lease was taken,
            "<checkpoint id> <writes>" (None: no checkpoint), for `Mirror.trusting`.
        stored: What the statement did with the inputs it was given to store.
    """

    def __init__(self, pool: Pool, ids: tuple[str, str, str | None], row: dict[str, Any]) -> None:
        self._pool = pool
        self._id, self._holder, self._owner = ids
        self.observed: str | None = row["observed"]
        self.stored = Stored(row["stored"], row["existing"], row["interrupted"])
        self.given_back = False

    async def give_back_recording(self, patch: str) -> tuple[str | None, str] | None:
        """Give the lease back, and merge `patch` (JSON) into the conversation's index entry.

        One statement for both. Returns the entry's title and the time recorded; None if
        the entry is gone (or the lease was taken with no owner).
        """
        params = _bound(
            _GIVE_BACK_RECORDING, id=self._id, holder=self._holder, owner=self._owner, patch=patch
        )
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_GIVE_BACK_RECORDING, params)).fetchone()
        self.given_back = True
        return None if row is None else (row["title"], row["updated_at"].isoformat())


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
            cursor = await conn.execute(_HOLDER, _bound(_HOLDER, id=conversation_id))
            row = await cursor.fetchone()
        return None if row is None else str(row["holder"]).split("/", 1)[0]

    @asynccontextmanager
    async def hold(
        self,
        conversation_id: str,
        *,
        wait: bool = True,
        user_id: str | None = None,
        inputs: tuple[str, bytes] | None = None,
    ) -> AsyncIterator[Lease]:
        """Hold the conversation's lease for the block (or until `give_back_recording`).

        Args:
            conversation_id: The conversation to lock (and its thread).
            wait: Wait for the lease; if False and it is held, raise `LeaseHeld`.
            user_id: Take it only while the conversation is this user's (checked at each
                try); else raise `NotAllowed`. None: no check.
            inputs: A turn's inputs (serialized type and blob) to store on the thread's
                latest checkpoint once the lease is taken, if they can be (`Lease.stored`).
        """
        owner = None if user_id is None else user_prefix(user_id, "conversations")
        ids = (conversation_id, f"{self._process_id}/{secrets.token_hex(8)}", owner)
        # Only turns on another server wait here (this server's lanes already queue them),
        # so polling is rare and cheap.
        while (taken := await self._take(ids, inputs)) is None:
            if not wait:
                raise LeaseHeld
            await asyncio.sleep(self._poll)
        renewing = asyncio.create_task(
            every(self._ttl / 3, lambda: self._renew(ids), logger, "lease.renew_failed")
        )
        lease = Lease(self._pool, ids, taken)
        try:
            yield lease
        finally:
            await stopped(renewing)
            if not lease.given_back:
                await self._give_back(ids)

    async def _take(
        self, ids: tuple[str, str, str | None], inputs: tuple[str, bytes] | None
    ) -> dict[str, Any] | None:
        """The statement's row if the lease was taken, else None."""
        conversation_id, holder, owner = ids
        params = _bound(
            _TAKE, id=conversation_id, holder=holder, ttl=self._ttl, owner=owner, **_inputs(inputs)
        )
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_TAKE, params)).fetchone()
        if row is None or not row["allowed"]:
            raise NotAllowed
        return row if row["taken"] else None

    async def _renew(self, ids: tuple[str, str, str | None]) -> None:
        params = _bound(_RENEW, id=ids[0], holder=ids[1], ttl=self._ttl)
        async with self._pool.connection() as conn:
            await conn.execute(_RENEW, params)

    async def _give_back(self, ids: tuple[str, str, str | None]) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute(_GIVE_BACK, _bound(_GIVE_BACK, id=ids[0], holder=ids[1]))
        except Exception as error:  # noqa: BLE001 - it expires by itself
            logger.warning("lease.release_failed", extra={"error": type(error).__name__})
