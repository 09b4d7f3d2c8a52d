"""A checkpointer that lets a pool's connections work in parallel."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from threadline.storage.checkpoints.compression import CompressedSerializer
from threadline.storage.checkpoints.memo import (
    DEFAULT_CACHE_IDLE,
    DEFAULT_DECODE_CACHE,
    MemoizingSerializer,
)
from threadline.storage.checkpoints.mirror import Mirror, WriteRow, write_row
from threadline.storage.checkpoints.rows import PUT_RETURNING_ROW, split_values
from threadline.storage.database import Pool

__all__ = ("PooledPostgresSaver",)

# Writes up to about this size are encoded and decoded on the event loop (see the class).
_ON_THE_LOOP = 64 * 1024

# The thread whose latest checkpoint a trusted turn is reading from the database, if any.
_LOADING: ContextVar[str | None] = ContextVar("threadline_latest_loading", default=None)


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

    A turn that holds its conversation's lease loads the checkpoint this server wrote last,
    and its delta-channel history, without a query (see `mirror`).
    """

    def __init__(
        self,
        pool: Pool,
        decode_cache_bytes: int = DEFAULT_DECODE_CACHE,
        cache_idle_seconds: float = DEFAULT_CACHE_IDLE,
    ) -> None:
        if not isinstance(pool, AsyncConnectionPool):
            # Without the lock, concurrent queries would share the one connection.
            raise TypeError(
                "PooledPostgresSaver needs a connection pool, not a single connection:"
                " use AsyncPostgresSaver for one connection"
            )
        serde: SerializerProtocol = CompressedSerializer()
        if decode_cache_bytes > 0:
            serde = MemoizingSerializer(serde, decode_cache_bytes, cache_idle_seconds)
        super().__init__(pool, serde=serde)
        self.lock = _NoLock()
        self._mirror = Mirror(idle_seconds=cache_idle_seconds)

    def trusting(self, thread_id: str, observed: str | None) -> AbstractContextManager[None]:
        """Let this task load the thread's latest checkpoint from memory (`Mirror.trusting`)."""
        return self._mirror.trusting(thread_id, observed)

    def note_writes(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[WriteRow], *, replace: bool
    ) -> None:
        """Writes stored on a checkpoint by other means than `aput_writes` (`Mirror.wrote`)."""
        self._mirror.wrote(thread_id, checkpoint_id, writes, replace=replace)

    def knows_no_checkpoint(self, thread_id: str) -> bool:
        """Whether this task's turn knows the thread has none yet (`Mirror.empty`)."""
        return self._mirror.empty(thread_id)

    def forget(self, thread_id: str) -> None:
        """Drop what is remembered of the thread's latest checkpoint (a write went wrong)."""
        self._mirror.forget(thread_id)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """A checkpoint (`AsyncPostgresSaver.aget_tuple`), the latest from memory if trusted."""
        where = config["configurable"]
        thread_id = where["thread_id"]
        latest = not get_checkpoint_id(config) and not where.get("checkpoint_ns", "")
        if not latest or not Mirror.trusted(thread_id):
            return await super().aget_tuple(config)
        if self._mirror.empty(thread_id):
            return None
        if (row := self._mirror.latest(thread_id)) is not None:
            return await self._load_checkpoint_tuple(row)
        loading = _LOADING.set(thread_id)
        try:
            return await super().aget_tuple(config)
        finally:
            _LOADING.reset(loading)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save a checkpoint (`AsyncPostgresSaver.aput`), keeping the row it became."""
        where = config["configurable"]
        thread_id, namespace = where["thread_id"], where["checkpoint_ns"]
        stored, blobs = split_values(checkpoint)
        versions = {k: v for k, v in new_versions.items() if k in blobs}
        metadata = get_serializable_checkpoint_metadata(config, metadata)
        params = (thread_id, namespace, checkpoint["id"], where.get("checkpoint_id"))
        try:
            async with self._cursor(pipeline=True) as cur:
                if versions:
                    dump = self._dump_blobs
                    rows = await asyncio.to_thread(dump, thread_id, namespace, blobs, versions)
                    await cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL, rows)
                content = (Jsonb(stored), Jsonb(metadata))
                await cur.execute(PUT_RETURNING_ROW, (*params, *content), binary=True)
                row = await cur.fetchone()
        except BaseException:
            self._mirror.forget(thread_id)
            raise
        if namespace == "" and row is not None:
            self._mirror.remember(thread_id, row)
        return _at({"thread_id": thread_id, "checkpoint_ns": namespace}, checkpoint["id"])

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        """The writes to replay for `channels` at a checkpoint, from memory in a trusted turn."""
        where = config["configurable"]
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id and not where.get("checkpoint_ns", ""):
            found = self._mirror.history(where["thread_id"], checkpoint_id, channels)
            if found is not None:
                history: dict[str, Any] = self._build_delta_channels_writes_history(**found)
                return history
        return await super().aget_delta_channel_history(config=config, channels=channels)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints and writes, and forget what is remembered of it."""
        self._mirror.forget(thread_id)
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
        try:
            async with self._cursor(pipeline=True) as cur:
                await cur.executemany(query, params)
        except BaseException:
            self._mirror.forget(where["thread_id"])
            raise
        if where["checkpoint_ns"] == "":
            stored = [write_row(param[3:]) for param in params]
            self._mirror.wrote(where["thread_id"], where["checkpoint_id"], stored, replace=special)

    async def _load_checkpoint_tuple(self, value: DictRow) -> CheckpointTuple:
        """A checkpoint row as LangGraph's tuple (`AsyncPostgresSaver._load_checkpoint_tuple`)."""
        if _LOADING.get() == value["thread_id"]:
            self._mirror.remember(value["thread_id"], value)
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


def _at(row: Mapping[str, Any], checkpoint_id: str) -> RunnableConfig:
    """The config naming checkpoint `checkpoint_id` of the row's thread."""
    return {
        "configurable": {
            "thread_id": row["thread_id"],
            "checkpoint_ns": row["checkpoint_ns"],
            "checkpoint_id": checkpoint_id,
        }
    }
