"""The latest checkpoint of each thread, as the database holds it, kept by its writer.

A turn loads its thread's latest checkpoint and replays its messages: three queries (the
checkpoint, then the two of the delta history), for a checkpoint this very server wrote at
the end of the conversation's previous turn, moments before. The mirror keeps, per thread,
the row the database returned when that checkpoint was written (`INSERT ... RETURNING` the
very columns `get_tuple` selects) and every write stored on it since, so the next turn
loads it without a query. It keeps the row's delta history too, when it is known: the
history of a snapshot's child is the snapshot and its writes, and a child's history is its
parent's and the writes on the parent; so the replay needs no query either.

Only a turn holding its conversation's lease trusts the mirror, and only once the lease
statement has seen the database's latest checkpoint, and its number of writes, agree with
it: a turn run by another server, a deletion, anything written elsewhere shows there, and
the mirror of that thread is dropped. While trusted, the lease keeps every other writer
out, so what the turn writes is all that changes. Outside a trusted turn the mirror is
never read, and a write made here forgets the thread. A thread no turn has used for
`idle_seconds` is forgotten as another is remembered: the next turn after a long pause
reads the database, and a process does not hold every conversation it has served.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from threadline.storage.checkpoints.memo import DEFAULT_CACHE_IDLE
from threadline.storage.checkpoints.rows import stores_value

__all__ = ("Found", "Mirror", "Row", "WriteRow", "write_row")

# The thread whose turn, in this task, holds the lease and has checked the mirror.
_TRUSTED: ContextVar[str | None] = ContextVar("threadline_mirror_trusted", default=None)

# Threads remembered at once; the least recently used are forgotten first. A row is the
# checkpoint's JSON, the blobs of its channels and the writes of a turn in progress.
_ENTRIES = 1024

Row = dict[str, Any]  # a checkpoint row, as `AsyncPostgresSaver.SELECT_SQL` returns it
# A stored write as the row aggregates it: task id, channel, type, blob, task path, index.
WriteRow = list[bytes]
# A delta history as LangGraph's two history queries find it: the keyword arguments of
# `AsyncPostgresSaver._build_delta_channels_writes_history`, which decodes it.
Found = dict[str, Any]


class Mirror:
    """The latest checkpoint row of recently served threads, with the writes made on it."""

    def __init__(
        self,
        entries: int = _ENTRIES,
        idle_seconds: float = DEFAULT_CACHE_IDLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries, self._idle, self._clock = entries, idle_seconds, clock
        # Least recently used first; with when a turn used each last.
        self._rows: OrderedDict[str, Row] = OrderedDict()
        self._used: dict[str, float] = {}
        # The delta history of each row, when known (dropped with the row).
        self._histories: dict[str, Found] = {}
        # Writes on checkpoints whose rows are not back yet, by checkpoint: LangGraph stores
        # a checkpoint and the writes on it in tasks of their own, which may finish in any
        # order, and a step's writes on the next checkpoint may land before its row too.
        self._ahead: dict[str, dict[str, list[tuple[Sequence[WriteRow], bool]]]] = {}
        # Threads a trusted turn saw without any checkpoint, until it writes one.
        self._empty: set[str] = set()

    def remembered(self) -> int:
        """How many threads' rows are remembered now."""
        return len(self._rows)

    @contextmanager
    def trusting(self, thread_id: str, observed: str | None) -> Iterator[None]:
        """Trust the thread's mirror in this block, if it agrees with what the database has.

        Args:
            thread_id: The thread whose lease the caller holds for the whole block.
            observed: The latest checkpoint and its writes, "<checkpoint id> <writes>", as
                the statement that took the lease read them (`Lease.observed`).
        """
        row = self._rows.get(thread_id)
        if row is not None and _observed(row) != observed:
            self._drop(thread_id)
        if observed is None:
            self._empty.add(thread_id)
        trusted = _TRUSTED.set(thread_id)
        try:
            yield
        finally:
            _TRUSTED.reset(trusted)
            self._empty.discard(thread_id)
            self._ahead.pop(thread_id, None)  # the turn's run is over: no row will come

    def empty(self, thread_id: str) -> bool:
        """Whether a trusted turn knows the thread has no checkpoint at all (a new one)."""
        return self.trusted(thread_id) and thread_id in self._empty

    @staticmethod
    def trusted(thread_id: str) -> bool:
        """Whether this task holds the thread's lease and has checked the mirror."""
        return _TRUSTED.get() == thread_id

    def latest(self, thread_id: str) -> Row | None:
        """A copy of the thread's latest row, for a trusted reader; else None."""
        row = self._rows.get(thread_id) if self.trusted(thread_id) else None
        if row is None:
            return None
        self._rows.move_to_end(thread_id)
        self._used[thread_id] = self._clock()
        return _copied(row)

    def history(self, thread_id: str, checkpoint_id: str, channels: Sequence[str]) -> Found | None:
        """The delta history of the thread's latest row, for a trusted reader, if known."""
        row = self._rows.get(thread_id) if self.trusted(thread_id) else None
        found = self._histories.get(thread_id)
        if row is None or found is None or row["checkpoint_id"] != checkpoint_id:
            return None
        return found if set(found["channels"]) == set(channels) else None

    def remember(self, thread_id: str, row: Row) -> None:
        """Keep `row`, just read or written, as the thread's latest (when trusted)."""
        self._empty.discard(thread_id)
        if not self.trusted(thread_id):
            self.forget(thread_id)
            return
        kept = _copied(row)
        ahead = self._ahead.get(thread_id, {})
        for early, replace in ahead.pop(row["checkpoint_id"], []):
            _merge(kept["pending_writes"], early, replace=replace)  # the row may hold them
        for older in [other for other in ahead if other < row["checkpoint_id"]]:
            del ahead[older]  # a checkpoint never stored
        parent = self._rows.get(thread_id)
        history = self._histories.pop(thread_id, None)
        if parent is not None and parent["checkpoint_id"] == row["parent_checkpoint_id"]:
            history = _child_history(parent, history, kept)
            if history is not None:
                self._histories[thread_id] = history
        self._rows[thread_id] = kept
        self._rows.move_to_end(thread_id)
        self._used[thread_id] = now = self._clock()
        while self._rows:
            oldest = next(iter(self._rows))
            if len(self._rows) <= self._entries and self._used[oldest] >= now - self._idle:
                break
            self._drop(oldest)

    def wrote(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[WriteRow], *, replace: bool
    ) -> None:
        """Writes were stored on a checkpoint of the thread (`replace`: upserted)."""
        self._empty.discard(thread_id)
        if not self.trusted(thread_id):
            self.forget(thread_id)
            return
        row = self._rows.get(thread_id)
        if row is not None and row["checkpoint_id"] == checkpoint_id:
            _merge(row["pending_writes"], writes, replace=replace)
        elif row is None or checkpoint_id > row["checkpoint_id"]:  # ids are time-ordered
            ahead = self._ahead.setdefault(thread_id, {})
            ahead.setdefault(checkpoint_id, []).append((writes, replace))
        elif (found := self._histories.get(thread_id)) is not None and any(
            write[1].decode() in found["channels"] for write in writes
        ):
            # A late write on an older checkpoint changes no latest row, but may change
            # the history of one of its descendants: that is read again.
            del self._histories[thread_id]

    def forget(self, thread_id: str) -> None:
        """Drop what is remembered of the thread."""
        self._empty.discard(thread_id)
        self._drop(thread_id)
        self._ahead.pop(thread_id, None)

    def _drop(self, thread_id: str) -> None:
        """Drop the thread's row and its history."""
        self._rows.pop(thread_id, None)
        self._used.pop(thread_id, None)
        self._histories.pop(thread_id, None)


def write_row(stored: tuple[str, str, int, str, str, bytes]) -> WriteRow:
    """A write as stored (task id, task path, index, channel, type, blob), as rows hold it."""
    task_id, task_path, idx, channel, kind, blob = stored
    return [
        task_id.encode(),
        channel.encode(),
        kind.encode(),
        blob,
        task_path.encode(),
        str(idx).encode(),
    ]


def extended_history(found: Found, parent_id: str, writes: Sequence[WriteRow]) -> Found:
    """The history queries' findings for a child of `parent_id`, from the parent's own.

    The child's walk starts at its parent, which stored no value of the channels (it was
    replayed itself), so it passes through the parent and goes on exactly as the parent's
    walk did: the same seed, one more checkpoint in each chain, and the parent's writes.
    """
    channels: Sequence[str] = found["channels"]
    rows = list(found["stage2_rows"])
    for task_id, channel, kind, blob, task_path, idx in writes:
        if channel.decode() in channels:
            rows.append(
                {
                    "_kind": "w",
                    "checkpoint_id": parent_id,
                    "channel": channel.decode(),
                    "type": kind.decode(),
                    "blob": blob,
                    "task_id": task_id.decode(),
                    "task_path": task_path.decode(),
                    "idx": int(idx),
                    "version": None,
                }
            )
    chains = {ch: [parent_id, *found["chain_by_ch"].get(ch, [])] for ch in channels}
    return {**found, "chain_by_ch": chains, "stage2_rows": rows}


def _child_history(parent: Row, history: Found | None, row: Row) -> Found | None:
    """The delta history of `row`, a child of `parent` whose history is `history`, if known.

    A snapshot's child starts from the snapshot; any other child goes on from its parent's
    history. A channel whose value the parent or the child stores needs a walk of its own.
    """
    if (found := snapshot_history(parent)) is None:
        if history is None or any(stores_value(parent, ch) for ch in history["channels"]):
            return None
        found = extended_history(history, parent["checkpoint_id"], parent["pending_writes"])
    return None if any(stores_value(row, ch) for ch in found["channels"]) else found


def snapshot_history(parent: Row) -> Found | None:
    """What the history queries would find for a child of a snapshot, `parent`.

    The parent stores its delta channels whole: each walk stops there, at once.
    """
    values = parent["checkpoint"].get("channel_values", {})
    versions = parent["checkpoint"].get("channel_versions", {})
    blobs = {blob[0].decode(): blob for blob in parent["channel_values"] or []}
    channels = [ch for ch, value in values.items() if value is True and ch in blobs]
    if not channels:
        return None
    seeds = [
        {
            "_kind": "b",
            "checkpoint_id": None,
            "channel": ch,
            "type": blobs[ch][1].decode(),
            "blob": blobs[ch][2],
            "task_id": None,
            "task_path": None,
            "idx": None,
            "version": versions[ch],
        }
        for ch in channels
    ]
    found = {
        "channels": channels,
        "chain_by_ch": {ch: [] for ch in channels},
        "seed_ver_by_ch": {ch: versions[ch] for ch in channels},
        "seed_inline_by_ch": {},
        "stage2_rows": seeds,
    }
    return extended_history(found, parent["checkpoint_id"], parent["pending_writes"])


def _copied(row: Row) -> Row:
    """A copy of `row` whose JSON and writes can be changed without changing `row`'s.

    The loaded checkpoint shares the row's JSON: a reader changing it in place must not
    change what the next reader gets, nor may the caller's row change what is kept.
    """
    return {
        **row,
        "checkpoint": copy.deepcopy(row["checkpoint"]),
        "metadata": copy.deepcopy(row["metadata"]),
        "pending_writes": [list(write) for write in row["pending_writes"] or []],
    }


def _observed(row: Row) -> str:
    """What the lease statement observes for a thread whose latest row is `row`."""
    return f"{row['checkpoint_id']} {len(row['pending_writes'])}"


def _merge(stored: list[WriteRow], writes: Sequence[WriteRow], *, replace: bool) -> None:
    """Apply writes to the list of a checkpoint's, as the database applies the statement.

    Keyed by task id and index: an insert keeps the write already there, an upsert changes
    its channel, type and blob (and keeps its task path).
    """
    at = {(write[0], write[5]): write for write in stored}
    for write in writes:
        earlier = at.get((write[0], write[5]))
        if earlier is None:
            stored.append(write)
            at[(write[0], write[5])] = write
        elif replace:
            earlier[1:4] = write[1:4]
