"""The built-in graph's state: a bounded window of messages, stored linearly, and a digest.

A graph of one's own (THREADLINE_GRAPH) can use it too, with `window.bounded_window`, to
get the same flat per-turn cost however long a conversation grows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.channels.delta import DeltaChannel

from threadline.storage.checkpoints.channel import merge_messages

__all__ = ("SNAPSHOT_EVERY", "ChatState", "Digest", "append_messages")

# Every this many writes to `messages`, a checkpoint stores the whole window once, which
# bounds how many writes reading a thread replays. The window is bounded by the context
# budget, so a snapshot costs at most the window's size.
SNAPSHOT_EVERY = 200


def append_messages(window: list[AnyMessage], writes: Sequence[Any]) -> list[AnyMessage]:
    """The window's reducer: each write applied as `add_messages` would.

    DeltaChannel replays stored writes in batches; applying them one at a time gives the
    same window however they are batched.
    """
    by_id = {message.id or str(uuid.uuid4()): message for message in window}
    for write in writes:
        merge_messages(by_id, write)
    return list(by_id.values())


class Digest(TypedDict):
    """What was folded out of the window: a summary, and how many messages it covers."""

    summary: str
    messages: int  # user and assistant messages folded (for `messages_total`)


class ChatState(TypedDict, total=False):
    """The thread: the model's window of recent messages, and a digest of older ones.

    `digest` is a dict, not a string, so that the checkpointer stores it once per change
    rather than inline in every checkpoint. Threads written before the window existed hold
    their whole transcript in `messages`; their first turn here folds it down (their old
    `summary` field is no longer read: the fold summarizes from the messages themselves).
    """

    messages: Annotated[
        list[AnyMessage], DeltaChannel(append_messages, snapshot_frequency=SNAPSHOT_EVERY)
    ]
    digest: Digest
    agent: str  # the specialist answering this turn, when there are several
