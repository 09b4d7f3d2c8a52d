"""What the graph gets for a turn.

The user's message, a reply to replace (a regenerate), or nothing at all because an
earlier turn already answered this very message (a resend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, HumanMessage

from threadline.chat.errors import ApprovalPendingError, InvalidRequest, NothingToRegenerate
from threadline.chat.turns.attachments import content_of, described
from threadline.chat.turns.branches import (
    Resent,
    check_editable,
    current_path,
    fork_inputs,
    regenerate_point,
    regenerated,
)
from threadline.chat.turns.history import find_client_message
from threadline.clock import now
from threadline.engine.approvals import AwaitingApproval
from threadline.engine.messages import ATTACHMENTS, CLIENT_MESSAGE_ID, CREATED_AT
from threadline.engine.replies import Reply, reply_of
from threadline.engine.runner import TurnRunner
from threadline.storage.checkpoints.tree import CheckpointTree

if TYPE_CHECKING:
    from threadline.chat.turns.turn import Turn

__all__ = (
    "check_edit",
    "check_same_text",
    "check_storable",
    "known_inputs",
    "resent_in",
    "turn_inputs",
)


def check_storable(text: str) -> None:
    """A new message's text must be storable and searchable: no NUL character in it.

    The service's check, which every surface's new message passes (PostgreSQL's text
    holds no NUL, and the search index is text); some edges refuse earlier in their own
    shape (AG-UI's whole message list, the LangGraph API's every body).

    Raises:
        InvalidRequest: The text holds a NUL.
    """
    if "\x00" in text:
        raise InvalidRequest("`message` must not contain NUL characters")


def check_same_text(earlier: str | None, text: str, client_message_id: str) -> None:
    """A resend must say what the original said; the same id for other text is refused.

    Raises:
        InvalidRequest: The texts differ.
    """
    if earlier is not None and earlier != text:
        detail = (
            f"client_message_id {client_message_id!r} was already used for a different "
            "message in this conversation; use a new id for a new message"
        )
        raise InvalidRequest(detail)


async def turn_inputs(turn: Turn, runner: TurnRunner) -> Sequence[BaseMessage] | Reply:
    """The messages the graph gets for `turn`, or the reply an earlier turn already gave.

    Called under the conversation's lease, so a resend racing its original (even on another
    server) sees it.

    Raises:
        NothingToRegenerate: A regenerate with no message to answer, or a resend whose
            reply failed after newer messages followed.
        InvalidRequest: A resend whose text differs from what was stored under its id.
    """
    if turn.text is None:
        return await _regenerate_inputs(turn, runner)
    if turn.client_message_id and (resent := await _stored(turn, runner)) is not None:
        return await _answer_resend(turn, runner, resent)
    if turn.fork is not None:
        return await fork_inputs(turn, turn.fork, runner, *_new_message(turn, turn.text))
    return _new_message(turn, turn.text)


def resent_in(tree: CheckpointTree, client_message_id: str, default_model: str) -> Resent | None:
    """The message stored under `client_message_id` on any branch (the current one first).

    An edit's message may be on a branch that is no longer current (a switch since), and
    its resend still finds it there: one id, one sibling.
    """
    others = sorted((leaf for leaf in tree.leaves if leaf != tree.latest), reverse=True)
    for head in ([tree.latest] if tree.latest else []) + others:
        messages = tree.path(head).messages
        if found := find_client_message(messages, client_message_id, default_model):
            index, stored, reply = found
            return Resent(stored, reply, head == tree.latest and index == len(messages) - 1)
    return None


def check_edit(
    tree: CheckpointTree,
    message_id: str,
    text: str,
    client_message_id: str | None,
    default_model: str,
) -> Resent | None:
    """Whether an edit may go on: a message to edit, or a resend (then what it stored).

    Raises:
        MessageNotFound: No user message `message_id` on the current path, and no resend.
        InvalidRequest: A resend whose text differs from what was stored under its id.
    """
    resent = resent_in(tree, client_message_id, default_model) if client_message_id else None
    if resent is None:
        check_editable(current_path(tree), message_id)
    else:
        check_same_text(str(resent.stored.text), text, client_message_id or "")
    return resent


async def _stored(turn: Turn, runner: TurnRunner) -> Resent | None:
    client_message_id = turn.client_message_id or ""
    if turn.fork is not None:  # an edit: its message went on a branch of its own
        return resent_in(
            await runner.tree(turn.conversation_id), client_message_id, runner.model_name
        )
    # The window holds every message since the last fold; a resend comes long before.
    messages = await runner.window(turn.conversation_id)
    found = find_client_message(messages, client_message_id, runner.model_name)
    if found is None:
        return None
    index, stored, reply = found
    return Resent(stored, reply, index == len(messages) - 1)


async def _answer_resend(
    turn: Turn, runner: TurnRunner, resent: Resent
) -> Sequence[BaseMessage] | Reply:
    check_same_text(str(resent.stored.text), turn.text or "", turn.client_message_id or "")
    if resent.reply is None and (pending := await runner.pending_interrupts(turn.conversation_id)):
        turn.message_id = resent.stored.id or turn.message_id
        await turn.ack()
        raise AwaitingApproval(pending)  # the resend is told what it waits for
    return await _replay(turn, resent.stored, resent.reply, resent.is_last)


def known_inputs(turn: Turn) -> list[BaseMessage] | None:
    """The turn's inputs if they need no look at the thread: a new message, not a resend.

    Such inputs can be stored by the very statement that takes the lease.
    """
    if turn.text is None or turn.client_message_id or turn.decision is not None or turn.fork:
        return None
    return _new_message(turn, turn.text)


def _new_message(turn: Turn, text: str) -> list[BaseMessage]:
    extra: dict[str, Any] = {CREATED_AT: now()}
    if turn.client_message_id:
        extra[CLIENT_MESSAGE_ID] = turn.client_message_id
    if turn.attachments:
        extra[ATTACHMENTS] = described(turn.attachments)
    content = content_of(text, turn.attachments.images)
    return [HumanMessage(content=content, id=turn.message_id, additional_kwargs=extra)]


async def _regenerate_inputs(turn: Turn, runner: TurnRunner) -> Sequence[BaseMessage] | Reply:
    tree = await runner.tree(turn.conversation_id)
    if turn.client_message_id and (done := regenerated(tree, turn.reply_id)) is not None:
        question, reply = done  # a resend: the reply its first sending stored
        turn.message_id = question.id or ""
        await turn.ack()
        return reply_of(reply, runner.model_name)
    if pending := await runner.pending_interrupts(turn.conversation_id):
        raise ApprovalPendingError(pending[0].interrupt_id)
    path = current_path(tree)
    found = regenerate_point(path) if path is not None else None
    if found is None:
        raise NothingToRegenerate
    question, turn.fork_from, update = found
    turn.message_id = question.id or ""
    # The earlier reply (stopped, or simply unwanted) and its tool steps stay, as a
    # sibling branch: the new reply forks from the checkpoint before them.
    return update


async def _replay(
    turn: Turn, stored: HumanMessage, reply: Reply | None, is_last: bool
) -> Sequence[BaseMessage] | Reply:
    turn.message_id = stored.id or turn.message_id
    await turn.ack()
    if reply is not None:
        return reply
    if is_last:
        return []  # stored, but its turn failed: answer it now, without a second copy
    raise NothingToRegenerate(
        "this message was stored but its reply failed, and newer messages followed"
    )
