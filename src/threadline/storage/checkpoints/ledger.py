"""A conversation's full transcript, read back from the checkpoint tables.

The graph state holds only the model's window (see `graph`). Everything ever said is still
stored, once, by the official saver: each message as the write that added it
(`checkpoint_writes`), the window as an occasional snapshot (`checkpoint_blobs`), and, for a
thread written before the window existed, its whole list in its last plain blob. Replaying
those in checkpoint order, and ignoring removals that only folded a message out of the
window, gives the transcript. It costs a read of the thread, so it serves history requests;
a turn never needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AnyMessage
from langgraph.checkpoint.base import writes_sort_key
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

# Beta API of DeltaChannel: the blob a snapshot is stored as (a one-field NamedTuple).
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL, merge_messages
from threadline.storage.database import Pool

__all__ = ("Ledger", "ReplayPlan", "plan_replay")

# Like the saver's own delta reader: per checkpoint, its version of the channel, whether that
# version has a stored blob, and whether the blob is a DeltaChannel snapshot.
_CHECKPOINTS = """
SELECT c.checkpoint_id, v.version,
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
_BLOBS = """
SELECT version, type, blob FROM checkpoint_blobs
WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND channel = %(channel)s
  AND version = ANY(%(versions)s)
"""
_WRITES = """
SELECT checkpoint_id, task_path, task_id, idx, type, blob FROM checkpoint_writes
WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND channel = %(channel)s
  AND checkpoint_id >= %(since)s
"""

# The checkpoints a checkpoint descends from, itself included: the path to it.
_PATH = """
WITH RECURSIVE path(checkpoint_id, parent) AS (
    SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
    WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id = %(until)s
  UNION ALL
    SELECT c.checkpoint_id, c.parent_checkpoint_id FROM checkpoints c, path p
    WHERE c.thread_id = %(thread)s AND c.checkpoint_ns = '' AND c.checkpoint_id = p.parent
)
SELECT checkpoint_id FROM path
"""


@dataclass
class ReplayPlan:
    """Which stored values to replay: the first checkpoint of each, in order."""

    since: str = ""  # replay starts at this checkpoint
    blob_at: dict[str, str] = field(default_factory=dict)  # checkpoint id -> blob version
    order: list[str] = field(default_factory=list)  # checkpoint ids from `since`, oldest first


def plan_replay(checkpoints: Sequence[dict[str, Any]]) -> ReplayPlan:
    """Which stored values rebuild the transcript, from the thread's checkpoint rows.

    Args:
        checkpoints: Rows of `_CHECKPOINTS`, oldest first: the id, the channel's version,
            whether that version is a DeltaChannel snapshot, and whether it has a blob.

    Returns:
        Where to start replaying, and which checkpoints begin with a stored blob.
    """
    first_of: dict[str, str] = {}
    snapshots: set[str] = set()
    stored: set[str] = set()
    for row in checkpoints:
        version = row["version"]
        if version is not None:
            first_of.setdefault(version, row["checkpoint_id"])
            if row["snapshot"]:
                snapshots.add(version)
            if row["has_blob"]:
                stored.add(version)
    plain = list(stored - snapshots)
    plan = ReplayPlan()
    if plain:
        # A thread from before DeltaChannel: its newest plain blob is its whole list then,
        # and everything earlier is already in it.
        base = max(plain, key=first_of.__getitem__)
        plan.since = first_of[base]
        plan.blob_at[plan.since] = base
    for version in snapshots:
        if first_of[version] >= plan.since:
            plan.blob_at[first_of[version]] = version
    plan.order = [r["checkpoint_id"] for r in checkpoints if r["checkpoint_id"] >= plan.since]
    return plan


class Ledger:
    """Reads transcripts from the saver's tables, with the saver's own serializer."""

    def __init__(self, saver: AsyncPostgresSaver, channel: str = MESSAGES_CHANNEL) -> None:
        """Read the transcripts kept in `channel` (a graph of one's own may name it)."""
        self._serde = saver.serde
        self._pool: Pool = saver.conn  # type: ignore[assignment]
        self._channel = channel

    async def transcript(self, thread_id: str) -> list[AnyMessage]:
        """Every user and assistant message of the thread, oldest first.

        Args:
            thread_id: The conversation's thread.

        Returns:
            The messages, including those folded out of the model's window.
        """
        params: dict[str, Any] = {"thread": thread_id, "channel": self._channel}
        async with self._pool.connection() as conn:
            checkpoints = await (await conn.execute(_CHECKPOINTS, params)).fetchall()
            plan = plan_replay(checkpoints)
            params |= {"versions": list(plan.blob_at.values()), "since": plan.since}
            rows = await (await conn.execute(_BLOBS, params)).fetchall()
            blobs = {r["version"]: r for r in rows}
            writes = await (await conn.execute(_WRITES, params)).fetchall()
        return self._replay(plan, blobs, writes)

    async def transcript_at(self, thread_id: str, checkpoint_id: str) -> list[AnyMessage]:
        """The messages of the thread as they stood at `checkpoint_id`, oldest first.

        Only the checkpoints on the path to it count, and none of the writes stored on it
        (those make the next checkpoint): nothing written later is in it.

        Returns:
            The messages (an empty list if the thread has no such checkpoint).
        """
        params: dict[str, Any] = {
            "thread": thread_id,
            "channel": self._channel,
            "until": checkpoint_id,
        }
        async with self._pool.connection() as conn:
            found = await (await conn.execute(_PATH, params)).fetchall()
            path = {row["checkpoint_id"] for row in found}
            rows = await (await conn.execute(_CHECKPOINTS, params)).fetchall()
            plan = plan_replay([row for row in rows if row["checkpoint_id"] in path])
            params |= {"versions": list(plan.blob_at.values()), "since": plan.since}
            blobs = {r["version"]: r for r in await (await conn.execute(_BLOBS, params)).fetchall()}
            writes = await (await conn.execute(_WRITES, params)).fetchall()
        path.discard(checkpoint_id)
        return self._replay(plan, blobs, [w for w in writes if w["checkpoint_id"] in path])

    def _replay(
        self, plan: ReplayPlan, blobs: dict[str, dict[str, Any]], writes: Iterable[dict[str, Any]]
    ) -> list[AnyMessage]:
        by_checkpoint: dict[str, list[dict[str, Any]]] = {}
        for row in writes:
            by_checkpoint.setdefault(row["checkpoint_id"], []).append(row)
        transcript: dict[str, AnyMessage] = {}
        for checkpoint_id in plan.order:
            # A checkpoint's blob is its state; the writes stored on it come after.
            if (version := plan.blob_at.get(checkpoint_id)) and (blob := blobs.get(version)):
                value = self._serde.loads_typed((blob["type"], blob["blob"]))
                value = value.value if isinstance(value, _DeltaSnapshot) else value
                merge_messages(transcript, value, transcript=True)
            rows = by_checkpoint.get(checkpoint_id, [])
            rows.sort(key=lambda r: writes_sort_key(r["task_path"], r["task_id"], r["idx"]))
            for row in rows:
                written = self._serde.loads_typed((row["type"], row["blob"]))
                merge_messages(transcript, written, transcript=True)
        return list(transcript.values())
