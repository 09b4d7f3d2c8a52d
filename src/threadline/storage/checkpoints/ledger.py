"""A conversation's full transcript, read back from the checkpoint tables.

The graph state holds only the model's window (see `graph`). Everything ever said is still
stored, once, by the official saver: each message as the write that added it
(`checkpoint_writes`), the window as an occasional snapshot (`checkpoint_blobs`), and, for a
thread written before the window existed, its whole list in plain blobs. Replaying those
along the path from the root to the latest checkpoint (`tree`: a thread branches where it
was edited), and ignoring removals that only folded a message out of the window, gives the
transcript. It costs a read of the thread, so it serves history requests and forks; a
plain turn never needs it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import AnyMessage
from langgraph._internal._constants import NULL_TASK_ID
from langgraph.checkpoint.base import writes_sort_key
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

# Beta API of DeltaChannel: the blob a snapshot is stored as (a one-field NamedTuple).
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
from threadline.storage.checkpoints.tree import CheckpointTree, Node
from threadline.storage.database import Pool

__all__ = ("Ledger",)

# The tree: each checkpoint's parent, its version of the channel, and whether that version
# has a stored value.
_TREE = """
SELECT c.checkpoint_id, c.parent_checkpoint_id, v.version,
       coalesce(c.checkpoint -> 'channel_values' -> %(channel)s = 'true'::jsonb, false) AS snapshot,
       EXISTS (SELECT 1 FROM checkpoint_blobs b
               WHERE b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
                 AND b.channel = %(channel)s AND b.version = v.version
                 AND b.type <> 'empty') AS has_blob
FROM checkpoints c,
     LATERAL (SELECT c.checkpoint -> 'channel_versions' ->> %(channel)s AS version) v
WHERE c.thread_id = %(thread)s AND c.checkpoint_ns = ''
ORDER BY c.checkpoint_id
"""
_ALL_WRITES = """
SELECT checkpoint_id, task_path, task_id, idx, type, blob FROM checkpoint_writes
WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND channel = %(channel)s
"""
# The inputs that waited on a checkpoint (its null task's writes) that a later checkpoint,
# a child of it, continues from.
_CONTINUED_INPUTS = """
SELECT w.checkpoint_id, w.type, w.blob FROM checkpoint_writes w
WHERE w.thread_id = %(thread)s AND w.checkpoint_ns = '' AND w.channel = %(channel)s
  AND w.task_id = %(task)s AND w.checkpoint_id = ANY(%(ids)s)
  AND EXISTS (SELECT 1 FROM checkpoints c
              WHERE c.thread_id = w.thread_id AND c.checkpoint_ns = ''
                AND c.parent_checkpoint_id = w.checkpoint_id)
"""
_BLOBS = """
SELECT version, type, blob FROM checkpoint_blobs
WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND channel = %(channel)s
  AND version = ANY(%(versions)s)
"""


class Ledger:
    """Reads transcripts from the saver's tables, with the saver's own serializer."""

    def __init__(self, saver: AsyncPostgresSaver, channel: str = MESSAGES_CHANNEL) -> None:
        """Read the transcripts kept in `channel` (a graph of one's own may name it)."""
        self._serde = saver.serde
        self._pool: Pool = saver.conn  # type: ignore[assignment]
        self._channel = channel

    async def transcript(self, thread_id: str) -> list[AnyMessage]:
        """Every user and assistant message of the thread's current path, oldest first.

        The current path ends at the latest checkpoint (see `tree`); messages of other
        branches are not in it.

        Args:
            thread_id: The conversation's thread.

        Returns:
            The messages, including those folded out of the model's window.
        """
        tree = await self.tree(thread_id)
        return [] if tree.latest is None else tree.path(tree.latest).messages

    async def transcript_at(self, thread_id: str, checkpoint_id: str) -> list[AnyMessage]:
        """The messages of the thread as they stood at `checkpoint_id`, oldest first.

        Only the path to it counts, and none of the writes stored on it (those make the
        next checkpoint): nothing written later, on any branch, is in it.

        Returns:
            The messages (an empty list if the thread has no such checkpoint).
        """
        tree = await self.tree(thread_id)
        head = tree.nodes.get(checkpoint_id)
        if head is None:
            return []
        head.writes.clear()
        return tree.path(checkpoint_id).messages

    async def continued_inputs(
        self, thread_id: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, set[str]]:
        """The ids of the inputs that waited on each checkpoint a later one continues.

        Only of `checkpoint_ids` (those shown).

        A turn's message waits on the latest checkpoint as a write (`pending`) until its
        run writes the next one; once a checkpoint has a child, what waited on it belongs
        to the child's state, not its own.
        """
        params = {
            "thread": thread_id,
            "channel": self._channel,
            "task": NULL_TASK_ID,
            "ids": list(checkpoint_ids),
        }
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_CONTINUED_INPUTS, params)).fetchall()
        continued: dict[str, set[str]] = {}
        for row in rows:
            messages = self._serde.loads_typed((row["type"], row["blob"]))
            ids = {getattr(m, "id", None) for m in messages}
            continued.setdefault(row["checkpoint_id"], set()).update(i for i in ids if i)
        return continued

    async def tree(self, thread_id: str) -> CheckpointTree:
        """The thread's checkpoints as a tree, each with what it stores of the channel.

        One read of the thread: its checkpoints, the values they store, and every write.
        """
        params: dict[str, Any] = {"thread": thread_id, "channel": self._channel}
        async with self._pool.connection() as conn:
            checkpoints = await (await conn.execute(_TREE, params)).fetchall()
            versions = {r["version"]: r for r in checkpoints if r["has_blob"]}
            params |= {"versions": list(versions)}
            rows = await (await conn.execute(_BLOBS, params)).fetchall()
            blobs = {r["version"]: r for r in rows}
            writes = await (await conn.execute(_ALL_WRITES, params)).fetchall()
        return CheckpointTree(self._nodes(checkpoints, blobs, writes))

    def _nodes(
        self,
        checkpoints: Sequence[dict[str, Any]],
        blobs: dict[str, dict[str, Any]],
        writes: Iterable[dict[str, Any]],
    ) -> list[Node]:
        version_of = {r["checkpoint_id"]: r["version"] for r in checkpoints}
        nodes: dict[str, Node] = {}
        for row in checkpoints:
            version = row["version"]
            node = Node(row["checkpoint_id"], row["parent_checkpoint_id"], version=version)
            # A checkpoint stores the channel when its version has a blob its parent's lacks:
            # decoded only if a replay reaches it (a copy shares its original's).
            if version in blobs and version_of.get(node.parent or "") != version:
                node.stored = functools.partial(self._decoded, blobs[version])
                node.whole = not row["snapshot"]  # a plain list: the whole transcript then
            nodes[node.checkpoint_id] = node
        ordered = sorted(
            writes, key=lambda r: writes_sort_key(r["task_path"], r["task_id"], r["idx"])
        )
        for row in ordered:
            if (owner := nodes.get(row["checkpoint_id"])) is not None:
                owner.writes.append(self._serde.loads_typed((row["type"], row["blob"])))
        return list(nodes.values())

    def _decoded(self, blob: dict[str, Any]) -> Any:
        if "decoded" not in blob:
            value = self._serde.loads_typed((blob["type"], blob["blob"]))
            blob["decoded"] = value.value if isinstance(value, _DeltaSnapshot) else value
        return blob["decoded"]
