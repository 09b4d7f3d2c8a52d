"""A turn's inputs, stored before the model runs, without a checkpoint of their own.

LangGraph stores the update of a `Command` as writes of its null task on the thread's
latest checkpoint, and the next run applies them before anything else. A turn stores the
user's message the same way, in one statement, before its ack: the run that answers it
then writes the turn's only checkpoint. Readers already honour these writes: `get_state`
applies them, and the ledger replays them like any other write.

The saver's own `aput_writes` cannot be used as is: it needs the latest checkpoint's id
(one more query), and it inserts with `ON CONFLICT DO NOTHING`, so a message written where
an unanswered one already waits (its turn failed, or the server died after the ack) would
be dropped without a word. Here the conflict is seen, and the caller folds the waiting
messages into a checkpoint of their own instead. The statement is `leases.store_inputs`,
or the one that takes the turn's lease (`alongside_lease`).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

from langchain_core.messages import BaseMessage
from langgraph._internal._constants import NULL_TASK_ID
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
from threadline.storage.checkpoints.mirror import write_row
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import Pool
from threadline.storage.leases import Stored, store_inputs

__all__ = ("Outcome", "PendingInputs", "StoredAhead")


class StoredAhead(NamedTuple):
    """A turn's inputs stored by the statement that takes its lease, if they can be."""

    inputs: tuple[str, bytes]  # serialized: their type and blob
    noted: Callable[[str], None]  # told the checkpoint they were stored on

    def stored(self, stored: Stored) -> bool:
        """Whether the statement that took the lease (`Lease.stored`) stored them; if so, noted."""
        if stored.on:
            self.noted(stored.on)
        return bool(stored.on)


class Outcome(enum.Enum):
    """What `PendingInputs.store` did."""

    STORED = "stored"  # waiting on the latest checkpoint for the next run
    NEW_THREAD = "new thread"  # nothing stored: the thread has no checkpoint yet
    BEHIND_WAITING = "behind waiting inputs"  # nothing stored: earlier inputs wait there
    INTERRUPTED = "interrupted"  # nothing stored: the run waits for the user's approval


class PendingInputs:
    """Messages waiting on a thread's latest checkpoint for the run that answers them."""

    def __init__(self, saver: AsyncPostgresSaver) -> None:
        self._saver = saver
        self._pool: Pool = saver.conn  # type: ignore[assignment]

    async def store(self, thread_id: str, messages: Sequence[BaseMessage]) -> Outcome:
        """Store `messages` for the thread's next run, durably, before this returns.

        Args:
            thread_id: The conversation's thread.
            messages: The turn's inputs (messages to add, or `RemoveMessage`s).

        Returns:
            `STORED`; `INTERRUPTED`: nothing was stored, the thread waits for an approval;
            otherwise nothing was stored, and the caller must write a checkpoint (with the
            waiting inputs, for `BEHIND_WAITING`).
        """
        saver = self._saver
        if isinstance(saver, PooledPostgresSaver) and saver.knows_no_checkpoint(thread_id):
            return Outcome.NEW_THREAD  # seen under the lease: nothing to store on
        ahead = self.alongside_lease(thread_id, messages)
        try:
            stored = await store_inputs(self._pool, thread_id, ahead.inputs)
        except BaseException:
            self._forget(thread_id)
            raise
        if ahead.stored(stored):
            return Outcome.STORED
        if stored.interrupted:
            return Outcome.INTERRUPTED
        return Outcome.BEHIND_WAITING if stored.existing else Outcome.NEW_THREAD

    def alongside_lease(self, thread_id: str, messages: Sequence[BaseMessage]) -> StoredAhead:
        """The same store, done by the statement that takes the turn's lease.

        Args:
            thread_id: The conversation's thread.
            messages: The turn's inputs, known before its lease (a new message).

        Returns:
            What the lease statement stores (`StoredAhead.inputs`); `StoredAhead.stored`
            then says, from the lease, whether they were stored.
        """
        kind, blob = self._saver.serde.dumps_typed(list(messages))
        noted = functools.partial(self._note, thread_id, kind=kind, blob=blob)
        return StoredAhead((kind, blob), noted)

    def _note(self, thread_id: str, checkpoint_id: str, *, kind: str, blob: bytes) -> None:
        """Tell the saver's mirror of the write just stored (`ON CONFLICT DO NOTHING`)."""
        if isinstance(self._saver, PooledPostgresSaver):
            write = write_row((NULL_TASK_ID, "", 0, MESSAGES_CHANNEL, kind, blob))
            self._saver.note_writes(thread_id, checkpoint_id, [write], replace=False)

    def _forget(self, thread_id: str) -> None:
        if isinstance(self._saver, PooledPostgresSaver):
            self._saver.forget(thread_id)

    async def waiting(self, thread_id: str, checkpoint_id: str | None = None) -> list[BaseMessage]:
        """The inputs stored for the thread's next run that no run has answered yet.

        Those on the latest checkpoint, or on `checkpoint_id` (a branch's latest).
        """
        where = {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}
        latest = await self._saver.aget_tuple({"configurable": where})
        if latest is None:
            return []
        return [
            message
            for task_id, channel, value in latest.pending_writes or []
            if task_id == NULL_TASK_ID and channel == MESSAGES_CHANNEL
            for message in value
        ]
