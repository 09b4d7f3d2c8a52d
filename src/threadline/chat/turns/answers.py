"""A user's answer to a paused run: checked against what it waits for, then resumed.

An `approve`/`deny` names a tool call, a `respond` an interrupt; either becomes the resume
value the graph expects, by interrupt id (`engine.approvals`). A `cancel_interrupt` drops
the pause: the run ends as a stopped reply.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import BaseCallbackHandler

from threadline.chat.errors import InvalidRequest, NothingToApprove
from threadline.chat.turns.turn_parts import Answer, Cancel, Decision
from threadline.engine.approvals import InvalidDecision, PendingInterrupt
from threadline.engine.assistants import RunOptions
from threadline.engine.replies import Reply, reply_of
from threadline.engine.runner import TurnRunner

if TYPE_CHECKING:
    from threadline.chat.turns.turn import Turn

__all__ = ("answering", "check_answer")


def check_answer(pending: Sequence[PendingInterrupt], answer: Answer) -> dict[str, Any]:
    """The values to resume the run with, by interrupt id (none for a cancel).

    Raises:
        NothingToApprove: Nothing waits under the id the answer names.
        InvalidRequest: A decision the interrupt does not accept, an approval's answer of
            another shape.
    """
    if isinstance(answer, Decision):
        found = next(
            (p for p in pending for a in p.approvals if a.tool_call_id == answer.tool_call_id),
            None,
        )
        if found is None:
            raise NothingToApprove
        try:
            return {found.interrupt_id: found.decide(*answer)}
        except InvalidDecision as error:
            raise InvalidRequest(str(error)) from None
    waiting = {p.interrupt_id: p for p in pending}
    wanted = answer.interrupt_id
    if not waiting and wanted is None:
        raise NothingToApprove("nothing of this conversation waits for an answer")
    if not waiting or (wanted is not None and wanted not in waiting):
        raise NothingToApprove("nothing of this conversation waits for an answer under this id")
    if isinstance(answer, Cancel):
        return {}
    try:  # an approval's answer of another shape would be read as a denial
        waiting[answer.interrupt_id].check_response(answer.value)
    except InvalidDecision as error:
        raise InvalidRequest(str(error)) from None
    return {answer.interrupt_id: answer.value}


async def answering(
    turn: Turn,
    runner: TurnRunner,
    answer: Answer,
    callbacks: Sequence[BaseCallbackHandler],
    options: RunOptions,
) -> Coroutine[Any, Any, Reply]:
    """What the engine does for an answer's turn, checked again under the lease.

    Raises:
        NothingToApprove: Answered meanwhile (from another socket), or never asked.
        InvalidRequest: A decision the interrupt does not accept.
    """
    answers = check_answer(await runner.pending_interrupts(turn.conversation_id), answer)
    if isinstance(answer, Cancel):
        return _cancelled(runner, turn.conversation_id, turn.reply_id)
    return runner.resume(
        turn.conversation_id,
        answers,
        turn.reply_id,
        turn,
        user_id=turn.user_id,
        callbacks=callbacks,
        context=options.context,
        configurable=options.configurable,
    )


async def _cancelled(runner: TurnRunner, conversation_id: str, reply_id: str) -> Reply:
    return reply_of(await runner.cancel(conversation_id, reply_id), runner.model_name)
