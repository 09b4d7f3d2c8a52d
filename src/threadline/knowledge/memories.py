"""Long-term memory: short facts about a user, kept in LangGraph's store and found by meaning.

Each memory is a store item under ("users", <user>, "memories"), embedded by the store's
vector index (field `text`), so recall is the store's own semantic search, scoped to that
one user's namespace: a user's memories are never read for anyone else.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from langgraph.store.base import BaseStore, Item

from threadline.clock import now
from threadline.storage.namespaces import user_namespace
from threadline.storage.text import storable

__all__ = ("MAX_MEMORIES", "MAX_MEMORY_CHARS", "Memories", "Memory", "MemoryLimit", "memory_text")

MAX_MEMORY_CHARS = 1000
MAX_MEMORIES = 1000  # per user
_RECALLED = 5
# Cosine similarity below which a memory is not brought up: unrelated facts are noise.
_RELEVANT = 0.3


class Memory(msgspec.Struct, kw_only=True):
    """One remembered fact."""

    memory_id: str
    text: str
    created_at: str


class MemoryLimit(ValueError):
    """The user already has `MAX_MEMORIES` memories."""


def _memory(item: Item) -> Memory:
    value: dict[str, Any] = item.value
    return Memory(memory_id=item.key, text=value["text"], created_at=value["created_at"])


def _namespace(user_id: str) -> tuple[str, ...]:
    return user_namespace(user_id, "memories")


def memory_text(text: str) -> str:
    """`text` as a memory keeps it: blanks (and NULs) collapsed, trimmed, within the limit.

    Empty when there is nothing to remember, which is then refused (an empty text has
    no meaning to embed).
    """
    return " ".join(storable(text).split())[:MAX_MEMORY_CHARS]


class Memories:
    """A user's memories: saved, listed, forgotten and recalled."""

    def __init__(self, store: BaseStore) -> None:
        """Keep memories in `store`, which must have a vector index on the field `text`."""
        self._store = store

    async def add(self, user_id: str, text: str) -> Memory:
        """Save `text` (trimmed, at most `MAX_MEMORY_CHARS`) as a memory of `user_id`.

        Raises:
            MemoryLimit: The user has `MAX_MEMORIES` already.
        """
        if len(await self.all_of(user_id)) >= MAX_MEMORIES:
            raise MemoryLimit
        memory = Memory(
            memory_id=secrets.token_urlsafe(12),
            text=memory_text(text),
            created_at=now(),
        )
        value = {"text": memory.text, "created_at": memory.created_at}
        await self._store.aput(_namespace(user_id), memory.memory_id, value)
        return memory

    async def all_of(self, user_id: str) -> list[Memory]:
        """Every memory of `user_id`, oldest first."""
        items = await self._store.asearch(_namespace(user_id), limit=MAX_MEMORIES)
        return sorted((_memory(item) for item in items), key=lambda m: m.created_at)

    async def delete(self, user_id: str, memory_id: str) -> bool:
        """Forget one memory; False if `user_id` has none by that id."""
        namespace = _namespace(user_id)
        if await self._store.aget(namespace, memory_id) is None:
            return False
        await self._store.adelete(namespace, memory_id)
        return True

    async def erase(self, user_id: str) -> int:
        """Forget every memory of `user_id`; returns how many there were."""
        memories = await self.all_of(user_id)
        for memory in memories:
            await self._store.adelete(_namespace(user_id), memory.memory_id)
        return len(memories)

    async def recall(self, user_id: str, about: str, limit: int = _RECALLED) -> list[Memory]:
        """The memories of `user_id` closest in meaning to `about`, most similar first."""
        if not about.strip():
            return []
        items = await self._store.asearch(_namespace(user_id), query=about, limit=limit)
        return [_memory(item) for item in items if item.score is None or item.score >= _RELEVANT]
