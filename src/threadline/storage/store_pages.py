"""Every item under one of the store's top-level namespaces, a page at a time, oldest first.

LangGraph's store searches one namespace prefix with an offset; an export across every
user's namespaces needs a stable order and a cursor instead: (updated_at, prefix, key).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from threadline.storage.database import Pool

__all__ = ("InvalidPageCursor", "StoredRow", "page_of_items")

_PAGE = """
SELECT prefix, key, value, updated_at FROM store
WHERE prefix LIKE %(root)s || '.%%'
  AND updated_at >= %(since)s
  AND (%(after)s::timestamptz IS NULL
       OR (updated_at, prefix, key) > (%(after)s, %(after_prefix)s, %(after_key)s))
ORDER BY updated_at, prefix, key
LIMIT %(limit)s
"""


class InvalidPageCursor(ValueError):
    """A cursor this server did not issue."""


class StoredRow(NamedTuple):
    """One item: its namespace (as the `prefix` column), key, value and last change."""

    prefix: str
    key: str
    value: dict[str, Any]
    updated_at: datetime


def cursor_after(row: StoredRow) -> str:
    """The cursor that continues after `row`."""
    raw = msgspec.json.encode([row.updated_at.isoformat(), row.prefix, row.key])
    return base64.urlsafe_b64encode(raw).decode()


def _decoded(cursor: str) -> tuple[datetime, str, str]:
    try:
        when, prefix, key = msgspec.json.decode(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(when), str(prefix), str(key)
    except (binascii.Error, msgspec.DecodeError, ValueError, TypeError):
        raise InvalidPageCursor(cursor) from None


async def page_of_items(
    pool: Pool, root: str, since: datetime, cursor: str | None, limit: int
) -> tuple[list[StoredRow], str | None]:
    """Up to `limit` items under `root` changed at or after `since`, after `cursor`.

    Returns:
        The items, and the cursor of the next page (None on the last).

    Raises:
        InvalidPageCursor: `cursor` was not issued here.
    """
    after, after_prefix, after_key = _decoded(cursor) if cursor else (None, "", "")
    params = {
        "root": root,
        "since": since,
        "after": after,
        "after_prefix": after_prefix,
        "after_key": after_key,
        "limit": limit + 1,
    }
    async with pool.connection() as conn:
        rows = await (await conn.execute(_PAGE, params)).fetchall()
    found = [StoredRow(r["prefix"], r["key"], r["value"], r["updated_at"]) for r in rows]
    more = len(found) > limit
    return found[:limit], cursor_after(found[limit - 1]) if more else None
