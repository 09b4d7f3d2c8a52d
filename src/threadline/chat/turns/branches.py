"""A conversation as a tree: edits and regenerates fork it, history shows where.

The tree is the thread's checkpoints (`storage/checkpoints/tree`): nothing else is stored.
The current path is LangGraph's own: the one that ends at the thread's latest checkpoint.
A fork (`fork_point`) writes a child of an earlier checkpoint, which becomes the latest;
switching to another branch (`switch_branch`) copies that branch's latest checkpoint,
LangGraph's `__copy__`, so that it is the latest again. Every server reads the same.

Two messages are siblings when the messages before them are the same: each branch's path
is a list of message ids, and the siblings of the current path's message at position `i`
are the distinct ids at `i` among the branches that share its first `i`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage

from threadline.chat.errors import (
    ApprovalPendingError,
    InvalidRequest,
    MessageNotFound,
)
from threadline.chat.events import Branch
from threadline.chat.turns.amending import amending
from threadline.chat.turns.turn_parts import TurnServices
from threadline.engine.messages import CREATED_AT, STOPPED
from threadline.engine.replies import Reply
from threadline.engine.runner import TurnRunner
from threadline.storage.checkpoints.tree import CheckpointTree, Path

if TYPE_CHECKING:
    from threadline.chat.turns.turn import Turn

__all__ = (
    "Fork",
    "Resent",
    "branches_of",
    "check_editable",
    "current_path",
    "fork_inputs",
    "head_with",
    "regenerate_point",
    "regenerated",
    "regenerated_id",
    "switch_branch",
)


class Resent(NamedTuple):
    """A message stored under the `client_message_id` a turn comes with again."""

    stored: HumanMessage
    reply: Reply | None  # its answer, if it has one
    is_last: bool  # the current path's last message: a failed turn's, to answer now


class Fork(NamedTuple):
    """Where a turn's branch starts: before a message it replaces, or at a checkpoint."""

    replaces: str | None = None  # an edit: the user message the turn's message replaces
    checkpoint_id: str | None = None  # a run from an earlier checkpoint (LangGraph's fork)
    resent: Resent | None = None  # an edit resent: what its first sending stored


def current_path(tree: CheckpointTree) -> Path | None:
    """The path that ends at the thread's latest checkpoint, if it has any."""
    return None if tree.latest is None else tree.path(tree.latest)


def check_editable(path: Path | None, message_id: str) -> None:
    """Only a user message of the current path may be edited.

    Raises:
        MessageNotFound: No user message with this id is on the current path.
    """
    found = next((m for m in path.messages if m.id == message_id), None) if path else None
    if not isinstance(found, HumanMessage):
        raise MessageNotFound


def regenerate_point(path: Path) -> tuple[HumanMessage, str | None, list[BaseMessage]] | None:
    """The last user message, and where its new reply forks: before the reply it has.

    Returns:
        The message; the checkpoint to fork from and the update there (None and nothing
        when it has no reply yet: the new one is its first). None: no user message.
    """
    messages = path.messages
    last = next((i for i in reversed(range(len(messages))) if _is_user(messages[i])), None)
    if last is None:
        return None
    question = messages[last]
    assert isinstance(question, HumanMessage)  # noqa: S101 - as _is_user said
    if last == len(messages) - 1:
        return question, None, []
    checkpoint, update = path.state_before(messages[last + 1].id or "")
    return question, checkpoint, update


def regenerated_id(conversation_id: str, client_message_id: str) -> str:
    """The reply id of a regenerate sent with `client_message_id`: the same for a resend.

    Derived, so that a resend finds the reply its first sending stored (`regenerated`)
    with nothing else kept; shaped as any other id (22 URL-safe characters).
    """
    digest = hashlib.sha256(f"{conversation_id}\0{client_message_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def regenerated(tree: CheckpointTree, reply_id: str) -> tuple[HumanMessage, AIMessage] | None:
    """The reply `reply_id` on any branch, and the user message it answers, if stored."""
    for leaf in tree.leaves:
        messages = tree.path(leaf).messages
        for index, message in enumerate(messages):
            if isinstance(message, AIMessage) and message.id == reply_id:
                asked = [m for m in messages[:index] if isinstance(m, HumanMessage)]
                return (asked[-1], message) if asked else None
    return None


async def fork_inputs(
    turn: Turn, fork: Fork, runner: TurnRunner, message: BaseMessage
) -> list[BaseMessage]:
    """What a forking turn writes at the checkpoint it forks from (`turn.fork_from`).

    The turn's new `message`, after whatever makes the checkpoint's state the path's
    messages before the one it replaces.

    Called under the conversation's lease.

    Raises:
        MessageNotFound: The message to replace is not a user message of the current path.
        InvalidRequest: The checkpoint is not one of the conversation's.
        ApprovalPendingError: The run waits for an answer: answer or cancel it first.
    """
    if pending := await runner.pending_interrupts(turn.conversation_id):
        raise ApprovalPendingError(pending[0].interrupt_id)
    tree = await runner.tree(turn.conversation_id)
    if fork.checkpoint_id is not None:
        if fork.checkpoint_id not in tree.nodes:
            raise InvalidRequest("checkpoint: not a checkpoint of this conversation")
        turn.fork_from = _head_as_seen(tree, fork.checkpoint_id)
        # Its state is what it holds and, until a later checkpoint continues it, the
        # inputs that wait on it (a failed turn's message): the run adds to that state.
        continued = any(node.parent == turn.fork_from for node in tree.nodes.values())
        waiting = [] if continued else await runner.waiting(turn.conversation_id, turn.fork_from)
        return [*waiting, message]
    path = current_path(tree)
    check_editable(path, fork.replaces or "")
    assert path is not None  # noqa: S101 - check_editable found the message on it
    turn.fork_from, update = path.state_before(fork.replaces or "")
    return [*update, message]


def _head_as_seen(tree: CheckpointTree, checkpoint_id: str) -> str:
    """Where a run from `checkpoint_id` goes on: there, or the head after stopped turns.

    A client that stopped a reply may name the head as it last read it, from before the
    stopped exchange was stored (agent-chat-ui reads no history after a stop): when all
    the current path adds after that checkpoint's state is turns that ended stopped, the
    head is meant, and the message goes on after the stopped reply.
    """
    path = current_path(tree)
    if path is None or path.head == checkpoint_id or checkpoint_id not in path.checkpoints:
        return checkpoint_id
    order = {checkpoint: n for n, checkpoint in enumerate(path.checkpoints)}
    at = order[checkpoint_id]

    def added(message: AnyMessage) -> bool:
        came = path.appeared[message.id or ""]
        return order[came.checkpoint_id] > at or (
            came.checkpoint_id == checkpoint_id and came.by_writes
        )

    since = [m for m in path.messages if added(m)]
    return path.head if since and _all_stopped(since) else checkpoint_id


def _all_stopped(messages: Sequence[AnyMessage]) -> bool:
    """Whether `messages` are turns (a user message and what answered it) each stopped."""
    if not _is_user(messages[0]):
        return False
    ends = [messages[i - 1] for i in range(1, len(messages)) if _is_user(messages[i])]
    return all(
        isinstance(end, AIMessage) and bool(end.response_metadata.get(STOPPED))
        for end in [*ends, messages[-1]]
    )


def branches_of(tree: CheckpointTree, path: Path) -> dict[str, Branch]:
    """Each message of `path` that has siblings, and its place among them."""
    current = _visible(path.messages)
    others = [_visible(tree.path(leaf).messages) for leaf in tree.leaves if leaf != path.head]
    candidates = [*others, current]
    found: dict[str, Branch] = {}
    for position, message in enumerate(current):
        seen: dict[str, AnyMessage] = {}
        for branch in candidates:
            if len(branch) > position:
                seen.setdefault(branch[position].id or "", branch[position])
        if len(seen) > 1:
            ids = [m.id or "" for m in sorted(seen.values(), key=_created_at)]
            found[message.id or ""] = Branch(ids.index(message.id or ""), len(ids), ids)
        candidates = [b for b in candidates if len(b) > position and b[position].id == message.id]
    return found


async def switch_branch(
    crew: TurnServices, runner: TurnRunner, user_id: str, conversation_id: str, message_id: str
) -> None:
    """Make the branch that holds `message_id` current: its latest checkpoint, copied.

    Under the conversation's lease (refused while a turn runs); nothing changes when the
    message is on the current path already.

    Raises:
        MessageNotFound: No branch of the conversation holds the message.
        ConversationBusy: A turn of the conversation runs.
        ApprovalPendingError: The run waits for an answer: answer or cancel it first.
    """
    leases, activity = crew.leases, crew.activity
    async with amending(leases, activity, user_id, conversation_id, wait=False) as amendment:
        if pending := await runner.pending_interrupts(conversation_id):
            raise ApprovalPendingError(pending[0].interrupt_id)
        tree = await runner.tree(conversation_id)
        path = current_path(tree)
        if path is not None and any(m.id == message_id for m in path.messages):
            return
        if (head := head_with(tree, message_id)) is None:
            raise MessageNotFound
        await runner.switch(conversation_id, head)
        await amendment.record(await runner.window(conversation_id))


def head_with(tree: CheckpointTree, message_id: str) -> str | None:
    """The latest checkpoint of a branch whose path holds `message_id`, if any."""
    for leaf in sorted(tree.leaves, reverse=True):
        if any(m.id == message_id for m in tree.path(leaf).messages):
            return leaf
    return None


def _visible(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """The messages history shows (`history.history_items`): user, assistant and tool."""
    return [m for m in messages if m.type in {"human", "ai", "tool"}]


def _is_user(message: AnyMessage) -> bool:
    return isinstance(message, HumanMessage)


def _created_at(message: AnyMessage) -> str:
    """When a message was made, as stored (a user's in its kwargs, a reply's in metadata)."""
    made = message.additional_kwargs.get(CREATED_AT) or message.response_metadata.get(CREATED_AT)
    return str(made or "")
