"""The commands of the thread event stream, carried out through the chat service.

`run.start` is a Threadline turn (`ChatService.send_message`) on the thread, made the
user's conversation when the turn is accepted if new (a refused one leaves nothing);
`input.respond` answers what the paused run waits for
(`ChatService.decide`: an approval by its tool call's id, any other interrupt by its
id). Their events reach the client through its streams, not the command's answer.
"""

from __future__ import annotations

from typing import Any

from threadline.chat.errors import ChatError
from threadline.chat.events import ApprovalRequired, Event
from threadline.chat.turns.turn_parts import Answer, Decision, Response
from threadline.transport.services import Services
from threadline.transport.thread_events.commands import (
    Command,
    CommandError,
    Respond,
    RespondMany,
    RunStart,
    error_of,
    params_of,
    text_of,
)

__all__ = ("UNSUPPORTED", "carry_out")

# Methods of the protocol Threadline does not serve (docs/thread-events.md says why).
UNSUPPORTED = frozenset(
    {
        "input.inject",
        "agent.getTree",
        "state.get",
        "state.listCheckpoints",
        "state.fork",
        "subscription.reconnect",
    }
)


async def _nobody(_: Event) -> None:
    """The turn's own listener: its events reach the client through its streams."""


async def carry_out(services: Services, user_id: str, thread_id: str, command: Command) -> Any:
    """Carry out a command (posted, or sent on the socket) but a subscription's; its result.

    Raises:
        CommandError: Refused: by the protocol's rules or by the chat service.
    """
    try:
        if command.method == "run.start":
            return await _run_start(services, user_id, thread_id, command.params)
        if command.method == "input.respond":
            return await _respond(services, user_id, thread_id, command.params)
    except ChatError as error:
        raise error_of(error) from None
    if command.method in UNSUPPORTED or command.method.startswith("subscription."):
        detail = f"{command.method} is not served by Threadline (see docs/thread-events.md)"
        raise CommandError("not_supported", "not_supported", detail, 400)
    raise CommandError("unknown_command", "invalid_request", f"no command {command.method!r}")


async def _run_start(
    services: Services, user_id: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    start = params_of(RunStart, params)
    text, message_id = text_of(start, services.settings.max_message_bytes)
    turn = await services.chat.send_message(
        user_id, text, thread_id, message_id, _nobody, create=True
    )
    return {"run_id": turn.reply_id}


async def _respond(
    services: Services, user_id: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    if "responses" in params:
        many = params_of(RespondMany, params)
        if len(many.responses) > 1:
            detail = "answer one interrupt per input.respond: each answer resumes the run"
            raise CommandError("not_supported", "not_supported", detail)
        answer = many.responses[0]
    else:
        answer = params_of(Respond, params)
    chat = services.chat
    history = await chat.conversations.history(user_id, thread_id, 1)
    approvals = {
        asked.tool_call_id
        for asked in history.pending_interrupts
        if isinstance(asked, ApprovalRequired)
    }
    decided: Answer = (
        _decision(answer)
        if answer.interrupt_id in approvals
        else Response(answer.interrupt_id, answer.response)
    )
    turn = await chat.decide(user_id, thread_id, decided, _nobody)
    return {"run_id": turn.reply_id}


def _decision(answer: Respond) -> Decision:
    """An approval's answer: `true`/`false`, or `{approved, args?}` (args: edited)."""
    response = answer.response
    if isinstance(response, bool):
        return Decision(answer.interrupt_id, response)
    if isinstance(response, dict) and isinstance(response.get("approved"), bool):
        args = response.get("args")
        edited = args if isinstance(args, dict) else None
        return Decision(answer.interrupt_id, response["approved"], edited)
    detail = "a tool approval is answered with true, false or {approved: bool, args?: {...}}"
    raise CommandError("invalid_argument", "invalid_request", detail)
