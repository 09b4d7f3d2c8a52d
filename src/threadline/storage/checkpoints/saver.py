"""A checkpointer that lets a pool's connections work in parallel."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import WRITES_IDX_MAP, CheckpointTuple, get_checkpoint_id
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg.rows import DictRow
from pydantic import BaseModel

from threadline.storage.checkpoints.compression import CompressedSerializer
from threadline.storage.checkpoints.histories import HistoryCache, Key
from threadline.storage.checkpoints.memo import DEFAULT_DECODE_CACHE, MemoizingSerializer
from threadline.storage.database import Pool

__all__ = ("PooledPostgresSaver",)

# Writes up to about this size are encoded and decoded on the event loop (see the class).
_ON_THE_LOOP = 64 * 1024

# The history being read (by `aget_delta_channel_history`) in this task, if any.
_READING: ContextVar[Key | None] = ContextVar("threadline_history_reading", default=None)


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

    Pending writes are encoded and decoded on the event loop, where the official saver
    sends each batch to a worker thread. A turn's writes are a few kilobytes (tens of
    microseconds to encode); the hop cost more than the work: the thread must win the GIL
    back from a busy loop, which waits up to the interpreter's switch interval (5 ms) each
    time. Measured with `bench.engine --mode bare`, 50 conversations x 20 turns: 93 turns/s
    with the hops, 115 without (three interleaved runs each). Writes past `_ON_THE_LOOP`
    (a long tool result) still go to a thread, where zlib runs without the GIL, so that
    one large write never stalls every other socket.

    A checkpoint's delta-channel history is read once (see `histories`).
    """

    def __init__(self, pool: Pool, decode_cache_bytes: int = DEFAULT_DECODE_CACHE) -> None:
        serde: SerializerProtocol = CompressedSerializer()
        if decode_cache_bytes > 0:
            serde = MemoizingSerializer(serde, memory_bytes=decode_cache_bytes)
        super().__init__(pool, serde=serde)
        self.lock = _NoLock()
        self._histories = HistoryCache()

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        """The writes to replay for `channels` at the config's checkpoint, queried once."""
        checkpoint_id = get_checkpoint_id(config)
        if not checkpoint_id or not channels:
            return await super().aget_delta_channel_history(config=config, channels=channels)
        where = config["configurable"]
        key = HistoryCache.key(
            where["thread_id"], where.get("checkpoint_ns", ""), checkpoint_id, channels
        )
        if (found := self._histories.get(key)) is not None:
            return self._build_delta_channels_writes_history(**found)
        reading = _READING.set(key)
        try:
            return await super().aget_delta_channel_history(config=config, channels=channels)
        finally:
            _READING.reset(reading)

    def _build_delta_channels_writes_history(self, **found: Any) -> dict[str, Any]:
        """Decode what the history queries found, remembering it when it was just read."""
        if (key := _READING.get()) is not None:
            self._histories.put(key, found, len(found["stage2_rows"]))
        history: dict[str, Any] = super()._build_delta_channels_writes_history(**found)
        return history

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints and writes, and forget its histories."""
        self._histories.forget_thread(thread_id)
        await super().adelete_thread(thread_id)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes on a checkpoint (`AsyncPostgresSaver.aput_writes`)."""
        special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        query = self.UPSERT_CHECKPOINT_WRITES_SQL if special else self.INSERT_CHECKPOINT_WRITES_SQL
        where = config["configurable"]
        dump = functools.partial(
            self._dump_writes,
            where["thread_id"],
            where["checkpoint_ns"],
            where["checkpoint_id"],
            task_id,
            task_path,
            writes,
        )
        small = _approximate_bytes([value for _, value in writes]) <= _ON_THE_LOOP
        params = dump() if small else await asyncio.to_thread(dump)
        async with self._cursor(pipeline=True) as cur:
            await cur.executemany(query, params)

    async def _load_checkpoint_tuple(self, value: DictRow) -> CheckpointTuple:
        """A checkpoint row as LangGraph's tuple (`AsyncPostgresSaver._load_checkpoint_tuple`)."""
        checkpoint = value["checkpoint"]
        channel_values = {
            **(checkpoint.get("channel_values") or {}),
            **self._load_blobs(value["channel_values"]),
        }
        parent = value["parent_checkpoint_id"]
        pending = value["pending_writes"] or []
        if sum(len(write[3]) for write in pending) <= _ON_THE_LOOP:  # (task, channel, type, blob…)
            writes = self._load_writes(pending)
        else:
            writes = await asyncio.to_thread(self._load_writes, pending)
        return CheckpointTuple(
            _at(value, value["checkpoint_id"]),
            # The row's JSON is the checkpoint, less its blobs (LangGraph builds it the same).
            {**checkpoint, "channel_values": channel_values},  # type: ignore[typeddict-item]
            value["metadata"],
            _at(value, parent) if parent else None,
            writes,
        )


def _approximate_bytes(value: Any) -> int:
    """About how large `value` encodes: the length of the text and bytes inside it."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(_approximate_bytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_approximate_bytes(item) for item in value.values())
    if isinstance(value, BaseModel):  # a message: its content, metadata, tool calls
        return _approximate_bytes(value.__dict__)
    return 0


def _at(row: DictRow, checkpoint_id: str) -> RunnableConfig:
    """The config naming checkpoint `checkpoint_id` of the row's thread."""
    return {
        "configurable": {
            "thread_id": row["thread_id"],
            "checkpoint_ns": row["checkpoint_ns"],
            "checkpoint_id": checkpoint_id,
        }
    }
