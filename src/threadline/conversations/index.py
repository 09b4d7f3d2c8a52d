"""The conversation index: who owns which conversation, and what a sidebar shows of it.

Each conversation is an item of LangGraph's `AsyncPostgresStore` under its owner's namespace
`("users", <user>, "conversations")`, so another user's id and an id that never existed look
the same. Creating, reading and deleting items goes through the store's API. Two things it
cannot express are done in SQL on its `store` table: the per-turn update (atomic, so it never
loses a concurrent rename; in the statement that gives the turn's lease back, with the
turn's other statements in `storage/leases`) and the keyset-paginated listing (newest
activity first, O(page) through the `threadline_store_recent` index).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any, Literal

import msgspec
from langgraph.store.base import BaseStore

from threadline.clock import now
from threadline.storage.database import Pool
from threadline.storage.leases import Lease
from threadline.storage.namespaces import user_namespace, user_prefix

__all__ = (
    "Choice",
    "ConversationIndex",
    "ConversationSummary",
    "InvalidCursor",
    "Page",
    "new_id",
)

PREVIEW_CHARS = 120


def new_id() -> str:
    """Return a fresh unguessable id (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _user_of(prefix: str) -> str:
    label = prefix.removeprefix("users.").removesuffix(".conversations")
    return label.replace("%2E", ".").replace("%25", "%")


def _namespace(user_id: str) -> tuple[str, ...]:
    return user_namespace(user_id, "conversations")


def _prefix(user_id: str) -> str:
    return user_prefix(user_id, "conversations")


class ConversationSummary(msgspec.Struct, kw_only=True):
    """What a conversation list shows of one conversation."""

    conversation_id: str
    title: str | None
    created_at: str
    updated_at: str
    message_count: int
    preview: str
    # The model its turns answer with (the default one unless the user chose another).
    model: str | None = None


class Choice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a conversation chose: its assistant, context, configurable, and model.

    The first three by its first message; the model (None: the default) and the documents
    attached, by any message.
    """

    assistant_id: str | None = None
    context: dict[str, Any] | None = None
    configurable: dict[str, Any] | None = None
    model: str | None = None
    # The documents attached to it: its knowledge, searched first.
    documents: tuple[str, ...] | None = None


class Page(msgspec.Struct, kw_only=True):
    """One page of a user's conversations, newest activity first."""

    items: list[ConversationSummary]
    next_cursor: str | None


class InvalidCursor(ValueError):
    """A pagination cursor that this server did not issue."""


def _summary(
    key: str, value: dict[str, Any], updated_at: datetime, default_model: str | None
) -> ConversationSummary:
    return ConversationSummary(
        conversation_id=key,
        title=value.get("title"),
        created_at=value.get("created_at", ""),
        updated_at=updated_at.isoformat(),
        message_count=int(value.get("message_count", 0)),
        preview=value.get("preview", ""),
        model=(value.get("assistant") or {}).get("model") or default_model,
    )


def _encode_cursor(updated_at: datetime, key: str) -> str:
    raw = msgspec.json.encode([updated_at.isoformat(), key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, key = msgspec.json.decode(raw, type=tuple[str, str])
        return datetime.fromisoformat(stamp), key
    except (ValueError, msgspec.DecodeError) as error:
        raise InvalidCursor(str(error)) from None


_OWNS = "SELECT value->'assistant' AS choice FROM store WHERE prefix = %(prefix)s AND key = %(key)s"
# Whether any user holds a conversation under this id (ids are global: the unique index).
_HELD = "SELECT 1 FROM store WHERE key = %(key)s AND prefix LIKE 'users.%%.conversations'"
# A conversation made empty (a LangGraph thread) takes what its first run chose.
_CHOOSE = """
UPDATE store SET value = value || jsonb_build_object('assistant', %(choice)s::jsonb)
WHERE prefix = %(prefix)s AND key = %(key)s
  AND NOT value ? 'assistant' AND coalesce((value->>'message_count')::int, 0) = 0
RETURNING key
"""
_SET_TITLE = """
UPDATE store SET value = value || %(patch)s::jsonb
WHERE prefix = %(prefix)s AND key = %(key)s
  AND (%(force)s OR value->>'title_source' IS DISTINCT FROM 'user')
RETURNING key, value, updated_at
"""
_UPDATE_CHOICE = """
UPDATE store
SET value = jsonb_set(value, '{assistant}',
                      coalesce(value->'assistant', '{}'::jsonb) || %(patch)s::jsonb)
WHERE prefix = %(prefix)s AND key = %(key)s
RETURNING key, value, updated_at
"""
# The documents added to those the conversation keeps, each once, in the order attached:
# in one statement, so two messages attaching at once both count.
_ATTACH = """
UPDATE store
SET value = jsonb_set(value, '{assistant}', coalesce(value->'assistant', '{}'::jsonb)
    || jsonb_build_object('documents', (
        SELECT jsonb_agg(document ORDER BY first)
        FROM (
            SELECT document, min(place) AS first
            FROM jsonb_array_elements_text(
                coalesce(value->'assistant'->'documents', '[]'::jsonb) || %(documents)s::jsonb
            ) WITH ORDINALITY AS listed(document, place)
            GROUP BY document
        ) AS kept
    )))
WHERE prefix = %(prefix)s AND key = %(key)s
RETURNING key
"""
# Exactly ("users", <label>, "conversations"): a label has no `.` (user_label), so a
# namespace of the LangGraph API's store ending in `conversations` is never taken for one.
_IDLE = """
SELECT prefix, key FROM store
WHERE prefix ~ '^users[.][^.]+[.]conversations$'
  AND updated_at < now() - %(seconds)s * interval '1 second'
"""
_LIST = """
SELECT key, value, updated_at FROM store
WHERE prefix = %(prefix)s
  AND (%(after)s::timestamptz IS NULL OR (updated_at, key) < (%(after)s, %(key)s))
ORDER BY updated_at DESC, key DESC
LIMIT %(limit)s
"""


class ConversationIndex:
    """Ownership records and sidebar data, one store item per conversation."""

    def __init__(self, store: BaseStore, pool: Pool, *, default_model: str | None = None) -> None:
        self._store = store
        self._pool = pool
        self._default_model = default_model  # what a summary says of a model not chosen

    @property
    def store(self) -> BaseStore:
        """The store it keeps its entries in (other kinds of items live beside them)."""
        return self._store

    @property
    def pool(self) -> Pool:
        """The connection pool it reads through."""
        return self._pool

    async def create(self, user_id: str, choice: Choice | None = None) -> str:
        """Record a new, empty conversation for `user_id` and return its id."""
        conversation_id = new_id()
        value = {"title": None, "created_at": now(), "message_count": 0, "preview": ""}
        if choice is not None and choice != Choice():
            value["assistant"] = msgspec.to_builtins(choice)
        await self._store.aput(_namespace(user_id), conversation_id, value)
        return conversation_id

    async def owns(self, user_id: str, conversation_id: str) -> bool:
        """Whether `conversation_id` exists and belongs to `user_id`."""
        return await self.choice_of(user_id, conversation_id) is not None

    async def choice_of(self, user_id: str, conversation_id: str) -> Choice | None:
        """What the conversation's first message chose; None if it is not `user_id`'s."""
        # Asked once a message: one indexed read, without the store's batching machinery.
        params = {"prefix": _prefix(user_id), "key": conversation_id}
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_OWNS, params)).fetchone()
        if row is None:
            return None
        return msgspec.convert(row["choice"] or {}, Choice)

    async def held(self, conversation_id: str) -> bool:
        """Whether any user has a conversation under `conversation_id` (ids are global)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_HELD, {"key": conversation_id})
            return await cursor.fetchone() is not None

    async def choose(self, user_id: str, conversation_id: str, choice: Choice) -> bool:
        """Keep `choice` for a conversation that has chosen nothing and holds no message yet.

        Returns:
            Whether it was kept (False: it chose already, has messages, or is not the user's).
        """
        params = {
            "choice": msgspec.json.encode(choice).decode(),
            "prefix": _prefix(user_id),
            "key": conversation_id,
        }
        async with self._pool.connection() as conn:
            return await (await conn.execute(_CHOOSE, params)).fetchone() is not None

    async def get(self, user_id: str, conversation_id: str) -> ConversationSummary | None:
        """The conversation's summary, or None if `user_id` has no such conversation."""
        item = await self._store.aget(_namespace(user_id), conversation_id, refresh_ttl=False)
        return (
            None
            if item is None
            else _summary(item.key, item.value, item.updated_at, self._default_model)
        )

    async def delete(self, user_id: str, conversation_id: str) -> None:
        """Remove the conversation's index entry."""
        await self._store.adelete(_namespace(user_id), conversation_id)

    @staticmethod
    async def record_activity(
        lease: Lease, message_count: int, last_message: str
    ) -> tuple[str | None, str] | None:
        """After a turn: the message count, the preview, and the time of the activity.

        Args:
            lease: The turn's lease, taken for the owner; given back in the same statement.
            message_count: The conversation's visible messages now.
            last_message: The newest, for the preview.

        Returns:
            The conversation's title and the time recorded; None if it is gone.
        """
        preview = " ".join(last_message.split())[:PREVIEW_CHARS]
        patch = msgspec.json.encode({"message_count": message_count, "preview": preview})
        return await lease.give_back_recording(patch.decode())

    async def set_title(
        self, user_id: str, conversation_id: str, title: str, source: Literal["user", "auto"]
    ) -> ConversationSummary | None:
        """Set the title; an automatic title never replaces one the user chose.

        Returns:
            The updated summary, or None if nothing was changed (or no such conversation).
        """
        patch = msgspec.json.encode({"title": title, "title_source": source}).decode()
        params = {
            "patch": patch,
            "prefix": _prefix(user_id),
            "key": conversation_id,
            "force": source == "user",
        }
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_SET_TITLE, params)).fetchone()
        return None if row is None else self._summary_of(row)

    async def update_choice(
        self, user_id: str, conversation_id: str, changes: dict[str, Any]
    ) -> ConversationSummary | None:
        """Change what the conversation chose: its model, its documents (`Choice`'s keys).

        Returns:
            The updated summary, or None if `user_id` has no such conversation.
        """
        patch = msgspec.json.encode(changes).decode()
        params = {"patch": patch, "prefix": _prefix(user_id), "key": conversation_id}
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_UPDATE_CHOICE, params)).fetchone()
        return None if row is None else self._summary_of(row)

    async def attach_documents(
        self, user_id: str, conversation_id: str, documents: list[str]
    ) -> bool:
        """Add `documents` to those the conversation keeps (each once, oldest first).

        Returns:
            Whether `user_id` has such a conversation.
        """
        params = {
            "documents": msgspec.json.encode(documents).decode(),
            "prefix": _prefix(user_id),
            "key": conversation_id,
        }
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_ATTACH, params)).fetchone()
        return row is not None

    def _summary_of(self, row: dict[str, Any]) -> ConversationSummary:
        return _summary(row["key"], row["value"], row["updated_at"], self._default_model)

    async def all_of(self, user_id: str) -> list[str]:
        """Every conversation id of `user_id`."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT key FROM store WHERE prefix = %s", (_prefix(user_id),)
            )
            return [row["key"] for row in await cursor.fetchall()]

    async def idle_since(self, seconds: float) -> list[tuple[str, str]]:
        """`(user_id, conversation_id)` of every conversation idle for `seconds` or more."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_IDLE, {"seconds": seconds})
            rows = await cursor.fetchall()
        return [(_user_of(row["prefix"]), row["key"]) for row in rows]

    async def list(self, user_id: str, limit: int, cursor: str | None = None) -> Page:
        """A page of the user's conversations, newest activity first.

        Raises:
            InvalidCursor: `cursor` was not issued by `list`.
        """
        after, key = _decode_cursor(cursor) if cursor else (None, None)
        params = {"prefix": _prefix(user_id), "after": after, "key": key, "limit": limit + 1}
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_LIST, params)).fetchall()
        items = [self._summary_of(row) for row in rows[:limit]]
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return Page(
            items=items,
            next_cursor=_encode_cursor(last["updated_at"], last["key"]) if last else None,
        )
