"""A thread's checkpoints as the tree they are, and the transcript along any path of it.

Every checkpoint names its parent. A run continues the latest checkpoint; a fork (an edit,
a regenerate that keeps the earlier reply, a run from an earlier `checkpoint`) writes a
child of an older one, and from then on the thread is a tree: its latest checkpoint is the
head of the current path, and every checkpoint without children is the head of a branch.

Along a path, the messages channel is rebuilt the way LangGraph rebuilds it, keeping what
the model's window forgot: a checkpoint that stores the channel whole (a snapshot, or a
thread from before the delta channel) replaces the window with its value, and the writes
stored on a checkpoint follow it. A checkpoint's writes lead to the child its own run
wrote; a fork of it stores its own value instead, without them, so a window message the
stored value lacks was left out by that fork (or its update removed it) and leaves the
transcript. A message only folded out of the window (`FOLDED`) stays.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage, convert_to_messages

from threadline.storage.checkpoints.channel import FOLDED

__all__ = ("Appeared", "CheckpointTree", "Node", "Path")


@dataclass
class Node:
    """One checkpoint: its parent, the channel's value if it stores it, the writes on it."""

    checkpoint_id: str
    parent: str | None
    # The messages it stores whole, if it does (or what reads them, when first needed).
    stored: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    writes: list[Any] = field(default_factory=list)  # decoded, in the order a run applies
    # Its value is the whole transcript (a thread from before the delta channel): a
    # replay can start here.
    whole: bool = False
    version: str | None = None  # of the channel: a copy has its original's


class Appeared(NamedTuple):
    """Where a message of a path first came: the checkpoint, and whether by its writes."""

    checkpoint_id: str
    by_writes: bool  # a write on the checkpoint (else: the value the checkpoint stores)


@dataclass
class Path:
    """The transcript from the root to `head`, and where each of its messages came."""

    head: str
    checkpoints: list[str]  # root first
    messages: list[AnyMessage]
    appeared: dict[str, Appeared]

    def state_before(self, message_id: str) -> tuple[str, list[BaseMessage]]:
        """A checkpoint to fork from so that the branch ends just before `message_id`.

        Returns:
            The checkpoint, and the update that makes its state the path's messages before
            `message_id`: the earlier ones it lacks (written on it with that message), or
            the removal of that message and what followed (a message the checkpoint stores,
            as a thread's first message is).
        """
        index = next(i for i, m in enumerate(self.messages) if m.id == message_id)
        where = self.appeared[message_id]
        earlier, later = self.messages[:index], self.messages[index:]
        if where.by_writes:
            # The checkpoint's state lacks everything its writes added, so those before
            # the message go in again (inputs that waited with it, a reply's tool steps).
            again = [m for m in earlier if self.appeared[m.id or ""] == where]
            return where.checkpoint_id, list(again)
        order = {checkpoint: n for n, checkpoint in enumerate(self.checkpoints)}
        at = order[where.checkpoint_id]

        def in_state(message: AnyMessage) -> bool:
            came = self.appeared[message.id or ""]
            return order[came.checkpoint_id] < at or came == where

        gone = [RemoveMessage(id=m.id or "") for m in later if in_state(m)]
        return where.checkpoint_id, list(gone)


class CheckpointTree:
    """A thread's checkpoints by id, with their parents and children."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes = {node.checkpoint_id: node for node in nodes}
        parents = {node.parent for node in self.nodes.values()}
        # Ids are time-ordered (uuid6): the largest is the latest, LangGraph's head.
        self.latest = max(self.nodes, default=None)
        # The head of each branch: a checkpoint without children. A copy (a switch back
        # and forth makes one each time) reads as its original: one of them is enough.
        heads: dict[tuple[str | None, str | None] | str, str] = {}
        for checkpoint_id in sorted(c for c in self.nodes if c not in parents):
            node = self.nodes[checkpoint_id]
            same = (node.parent, node.version) if not node.writes else checkpoint_id
            heads[same] = checkpoint_id  # the latest of copies
        self.leaves = sorted(heads.values())

    def path(self, head: str) -> Path:
        """The transcript along the path from the root to `head`."""
        chain: list[str] = []
        at: str | None = head
        while at is not None and at in self.nodes and len(chain) <= len(self.nodes):
            chain.append(at)
            at = self.nodes[at].parent
        chain.reverse()
        return _replay(head, chain, self.nodes)


def _replay(head: str, chain: list[str], nodes: dict[str, Node]) -> Path:
    by_id: dict[str, BaseMessage] = {}
    appeared: dict[str, Appeared] = {}
    folded: set[str] = set()  # in the transcript, out of the model's window
    start = max((i for i, c in enumerate(chain) if nodes[c].whole), default=0)
    for checkpoint_id in chain[start:]:
        node = nodes[checkpoint_id]
        if node.stored is not None:
            window = [i for i in by_id if i not in folded]
            kept = set()
            stored = node.stored() if callable(node.stored) else node.stored
            for message in _messages(stored):
                key = message.id or ""
                by_id[key] = message
                kept.add(key)
                appeared.setdefault(key, Appeared(checkpoint_id, by_writes=False))
                folded.discard(key)
            for key in window:
                if key not in kept:  # a fork left it out, or its update removed it
                    by_id.pop(key, None)
                    appeared.pop(key, None)
        for written in node.writes:
            for message in _messages(written):
                key = message.id or ""
                if isinstance(message, RemoveMessage):
                    if message.name == FOLDED:
                        folded.add(key)
                    else:
                        by_id.pop(key, None)
                        appeared.pop(key, None)
                    continue
                by_id[key] = message
                appeared.setdefault(key, Appeared(checkpoint_id, by_writes=True))
    return Path(head, chain, cast("list[AnyMessage]", list(by_id.values())), appeared)


def _messages(written: Any) -> Sequence[BaseMessage]:
    """A write (or stored value) as messages, coerced as `add_messages` does."""
    items = written if isinstance(written, list | tuple) else [written]
    messages: Sequence[BaseMessage] = (
        items if all(isinstance(m, BaseMessage) for m in items) else convert_to_messages(items)
    )
    for message in messages:
        if message.id is None:
            message.id = str(uuid.uuid4())
    return messages
