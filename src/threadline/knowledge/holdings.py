"""What a user keeps, known in one round trip: whether they have memories, and documents.

Asked at the start of every answer, so that a user with neither (most turns) costs one
indexed lookup and no embedding.
"""

from __future__ import annotations

from typing import NamedTuple

from threadline.storage.database import Pool
from threadline.storage.namespaces import user_namespace

__all__ = ("Holdings", "holdings_of")

_HOLDINGS = """
SELECT
    %(memories)s AND EXISTS (SELECT 1 FROM store WHERE prefix = %(prefix)s) AS memories,
    %(documents)s AND EXISTS (
        SELECT 1 FROM threadline_chunks WHERE owner = %(owner)s OR owner IS NULL
    ) AS documents
"""


class Holdings(NamedTuple):
    """Whether a user has any memory, and any passage to search (theirs or shared)."""

    memories: bool
    documents: bool


async def holdings_of(pool: Pool, user_id: str, *, memories: bool, documents: bool) -> Holdings:
    """What `user_id` holds, of what is asked (what is not asked is False)."""
    if not (memories or documents):
        return Holdings(memories=False, documents=False)
    params = {
        "memories": memories,
        "documents": documents,
        "prefix": ".".join(user_namespace(user_id, "memories")),
        "owner": user_id,
    }
    async with pool.connection() as conn:
        row = await (await conn.execute(_HOLDINGS, params)).fetchone()
    return Holdings(
        memories=bool(row and row["memories"]), documents=bool(row and row["documents"])
    )
