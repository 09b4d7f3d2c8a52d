"""What a user keeps, asked at the start of every answer: any memory? any document?

Most users have neither, and asking the database every turn would cost a round trip each
time, so the answers are remembered per process. Whoever changes what a user keeps
(a memory saved or deleted, a document ready or deleted, an erasure) calls `forget`, here
and, through the relay, in every other process; `forget(None)` drops every answer (a
shared document changed, or bulletins may have been missed). A notice can still be lost
(a full queue, a failed publish), so an answer is read again once it is `ttl` old.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import NamedTuple

from threadline.storage.database import Pool
from threadline.storage.namespaces import user_prefix

__all__ = ("Holdings", "HoldingsCache")

_REMEMBERED = 10_000  # users
_TTL = 30.0  # seconds an answer is trusted: how late a change whose notice was lost is seen

_HOLDINGS = """
SELECT
    EXISTS (SELECT 1 FROM store WHERE prefix = %(prefix)s) AS memories,
    EXISTS (
        SELECT 1 FROM threadline_chunks WHERE owner = %(owner)s OR owner IS NULL
    ) AS documents
"""


class Holdings(NamedTuple):
    """Whether a user has any memory, and any passage to search (theirs or shared)."""

    memories: bool
    documents: bool


class HoldingsCache:
    """Each user's holdings, remembered until something changes them, or `ttl` seconds."""

    def __init__(self, pool: Pool, ttl: float = _TTL) -> None:
        self._pool = pool
        self._ttl = ttl
        self._known: OrderedDict[str, tuple[float, Holdings]] = OrderedDict()  # read at, held
        # Bumped by every `forget`: an answer read while one happened may be out of date.
        self._generation = 0

    async def of(self, user_id: str) -> Holdings:
        """What `user_id` holds now."""
        read_at = time.monotonic()
        if (known := self._known.get(user_id)) is not None and read_at - known[0] < self._ttl:
            self._known.move_to_end(user_id)
            return known[1]
        generation = self._generation
        params = {"prefix": user_prefix(user_id, "memories"), "owner": user_id}
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_HOLDINGS, params)).fetchone()
        held = Holdings(
            memories=bool(row and row["memories"]), documents=bool(row and row["documents"])
        )
        if generation == self._generation:
            self._known[user_id] = (read_at, held)
            self._known.move_to_end(user_id)
            if len(self._known) > _REMEMBERED:
                self._known.popitem(last=False)
        return held

    def forget(self, user_id: str | None) -> None:
        """Drop what is known of `user_id` (None: of everyone)."""
        self._generation += 1
        if user_id is None:
            self._known.clear()
        else:
            self._known.pop(user_id, None)
