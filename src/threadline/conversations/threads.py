"""Conversations as the LangGraph API lists them: chosen ids, metadata, search and order.

The same index entries as `index.ConversationIndex` (one store item per conversation,
under its owner's namespace); a thread's metadata is the entry's `metadata` field. A
conversation id is global (it is the checkpoint tables' thread id), so a unique index
(`threadline_conversation_ids`) keeps an id chosen by a client from being claimed twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal, NamedTuple

import msgspec
from psycopg import sql

from threadline.clock import now
from threadline.conversations.index import Choice
from threadline.storage.database import Pool
from threadline.storage.namespaces import user_namespace

__all__ = ("Claim", "ThreadCatalog", "ThreadRow")

SortBy = Literal["thread_id", "created_at", "updated_at"]


class ThreadRow(NamedTuple):
    """One conversation's index entry, as a thread."""

    thread_id: str
    created_at: str
    updated_at: datetime
    metadata: dict[str, Any]
    # The assistant its first message (or its creation) chose; None: the default.
    assistant_id: str | None = None


class Claim(Enum):
    """What claiming a chosen id found."""

    CREATED = "created"
    MINE = "mine"  # the caller's own conversation already has it
    TAKEN = "taken"  # another user's has it


_CLAIM = """
INSERT INTO store (prefix, key, value) VALUES (%(prefix)s, %(key)s, %(value)s::jsonb)
ON CONFLICT DO NOTHING
RETURNING key
"""
_ROW = "SELECT key, value, updated_at FROM store WHERE prefix = %(prefix)s AND key = %(key)s"
_MERGE = """
UPDATE store SET updated_at = now(),
    value = jsonb_set(value, '{metadata}', coalesce(value->'metadata', '{}') || %(patch)s::jsonb)
WHERE prefix = %(prefix)s AND key = %(key)s
RETURNING key, value, updated_at
"""
_SEARCH = """
SELECT key, value, updated_at FROM store
WHERE prefix = %(prefix)s
  AND coalesce(%(by_assistant)s::jsonb -> (value->'assistant'->>'assistant_id'),
               %(defaults)s::jsonb)
      || coalesce(value->'metadata', '{{}}') @> %(filter)s::jsonb
ORDER BY {order}, key {direction}
LIMIT %(limit)s OFFSET %(offset)s
"""
_ORDER = {
    "thread_id": "key",
    "created_at": "value->>'created_at'",
    "updated_at": "updated_at",
}


def _prefix(user_id: str) -> str:
    return ".".join(user_namespace(user_id, "conversations"))


def _row(
    found: dict[str, Any], defaults: dict[str, Any], by_assistant: dict[str, dict[str, Any]]
) -> ThreadRow:
    value = found["value"]
    metadata = value.get("metadata")
    chosen = value.get("assistant")
    assistant_id = chosen.get("assistant_id") if isinstance(chosen, dict) else None
    if isinstance(assistant_id, str):
        defaults = by_assistant.get(assistant_id, defaults)
    return ThreadRow(
        thread_id=found["key"],
        created_at=value.get("created_at", ""),
        updated_at=found["updated_at"],
        metadata={**defaults, **(metadata if isinstance(metadata, dict) else {})},
        assistant_id=assistant_id if isinstance(assistant_id, str) else None,
    )


class ThreadCatalog:
    """Conversations with their metadata, for the LangGraph API's thread routes."""

    def __init__(
        self,
        pool: Pool,
        defaults: dict[str, Any] | None = None,
        by_assistant: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Threads in `pool`'s store; `defaults`: metadata every thread has unless set.

        `by_assistant`: instead of `defaults`, those of a thread whose conversation chose
        that assistant (with several graphs served).
        """
        self._pool = pool
        # Such as the graph every conversation runs (`graph_id`, `assistant_id`), which
        # LangChain's chat UIs search threads by.
        self._defaults = defaults or {}
        self._by_assistant = by_assistant or {}

    async def claim(
        self,
        user_id: str,
        thread_id: str,
        metadata: dict[str, Any],
        choice: Choice | None = None,
    ) -> Claim:
        """Record a new, empty conversation of `user_id` under the id a client chose.

        `choice`, if given, is kept as its first message's would be (its assistant).
        """
        value = {
            "title": None,
            "created_at": now(),
            "message_count": 0,
            "preview": "",
            "metadata": metadata,
        }
        if choice is not None and choice != Choice():
            value["assistant"] = msgspec.to_builtins(choice)
        params = {
            "prefix": _prefix(user_id),
            "key": thread_id,
            "value": msgspec.json.encode(value).decode(),
        }
        async with self._pool.connection() as conn:
            if await (await conn.execute(_CLAIM, params)).fetchone() is not None:
                return Claim.CREATED
            mine = await (await conn.execute(_ROW, params)).fetchone()
        return Claim.MINE if mine is not None else Claim.TAKEN

    async def get(self, user_id: str, thread_id: str) -> ThreadRow | None:
        """The conversation as a thread, or None if `user_id` has no such conversation."""
        params = {"prefix": _prefix(user_id), "key": thread_id}
        async with self._pool.connection() as conn:
            found = await (await conn.execute(_ROW, params)).fetchone()
        return None if found is None else _row(found, self._defaults, self._by_assistant)

    async def merge_metadata(
        self, user_id: str, thread_id: str, patch: dict[str, Any]
    ) -> ThreadRow | None:
        """Merge `patch` into the thread's metadata; None if `user_id` has no such thread."""
        params = {
            "prefix": _prefix(user_id),
            "key": thread_id,
            "patch": msgspec.json.encode(patch).decode(),
        }
        async with self._pool.connection() as conn:
            found = await (await conn.execute(_MERGE, params)).fetchone()
        return None if found is None else _row(found, self._defaults, self._by_assistant)

    async def search(  # noqa: PLR0913 - the search's terms, each named
        self,
        user_id: str,
        metadata: dict[str, Any],
        *,
        sort_by: SortBy,
        descending: bool,
        limit: int,
        offset: int,
    ) -> list[ThreadRow]:
        """The user's threads whose metadata contains `metadata`, in the order asked."""
        direction = sql.SQL("DESC" if descending else "ASC")
        query = sql.SQL(_SEARCH).format(
            order=sql.SQL(_ORDER[sort_by] + " ") + direction, direction=direction
        )
        params = {
            "prefix": _prefix(user_id),
            "filter": msgspec.json.encode(metadata).decode(),
            "defaults": msgspec.json.encode(self._defaults).decode(),
            "by_assistant": msgspec.json.encode(self._by_assistant).decode(),
            "limit": limit,
            "offset": offset,
        }
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        return [_row(found, self._defaults, self._by_assistant) for found in rows]
