"""A checkpointer that lets a pool's connections work in parallel."""

from __future__ import annotations

import asyncio
from typing import Literal

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol

from threadline.storage.checkpoints.compression import CompressedSerializer
from threadline.storage.checkpoints.memo import DEFAULT_DECODE_CACHE, MemoizingSerializer
from threadline.storage.database import Pool

__all__ = ("PooledPostgresSaver",)


class _NoLock(asyncio.Lock):
    """Acquired at once, always: each query already has a pooled connection of its own."""

    async def acquire(self) -> Literal[True]:
        return True

    def release(self) -> None:
        return None


class PooledPostgresSaver(AsyncPostgresSaver):
    """`AsyncPostgresSaver`, same tables and format, minus its per-instance lock.

    The official saver serializes every query of an instance behind one `asyncio.Lock`
    (langgraph issue #7259), which a single connection needs but a pool does not: there,
    each query checks out its own connection. `AsyncPostgresStore` already skips its lock
    for pools; this does the same for checkpoints. Blobs are compressed (see `compression`),
    and recently decoded ones remembered (see `memo`) within `decode_cache_bytes` of memory.
    """

    def __init__(self, pool: Pool, decode_cache_bytes: int = DEFAULT_DECODE_CACHE) -> None:
        serde: SerializerProtocol = CompressedSerializer()
        if decode_cache_bytes > 0:
            serde = MemoizingSerializer(serde, memory_bytes=decode_cache_bytes)
        super().__init__(pool, serde=serde)
        self.lock = _NoLock()
