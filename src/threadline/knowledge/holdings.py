"""What a user keeps, asked at the start of every answer: any memory? any document?

Most users have neither, and asking the database every turn would cost a round trip each
time, so the answers are remembered per process. Whoever changes what a user keeps
(a memory saved or deleted, a document ready or deleted, an erasure) calls `forget`, here
and, through the relay, in every other process; `forget(None)` drops every answer (a
shared document changed, or bulletins may have been missed).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from threadline.storage.database import Pool
from threadline.storage.namespaces import user_prefix

__all__ = ("Holdings", "HoldingsCache")

_REMEMBERED = 10_000  # users

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
    """Each user's holdings, read once, then remembered until something changes them."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._known: OrderedDict[str, Holdings] = OrderedDict()
        # Bumped by every `forget`: an answer read while one happened may be out of date.
        self._generation = 0

    async def of(self, user_id: str) -> Holdings:
        """What `user_id` holds now."""
        if (known := self._known.get(user_id)) is not None:
            self._known.move_to_end(user_id)
            return known
        generation = self._generation
        params = {"prefix": user_prefix(user_id, "memories"), "owner": user_id}
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_HOLDINGS, params)).fetchone()
        held = Holdings(
            memories=bool(row and row["memories"]), documents=bool(row and row["documents"])
        )
        if generation == self._generation:
            self._known[user_id] = held
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
