"""What an AG-UI run asks for: its `RunAgentInput` read, and set against the stored thread.

AG-UI clients send the whole conversation on every run. Threadline keeps the thread, so
it takes only what is new: the stored messages must open the list, in order, under the
ids they were given (a user message's id is its `client_message_id`), and the one user
message after them is the run's. A list that is only a stored prefix ending with a user
message is a resend of it (answered with the stored reply); a list that says something
else of the stored thread is refused (`history_mismatch`). A `resume` answers what the
thread waits for instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from ag_ui.core import Message, ResumeEntry, RunAgentInput, TextPart, UserMessage
from ag_ui.core import ToolMessage as AgUiToolMessage
from langchain_core.messages import ToolMessage
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from threadline.chat.errors import ChatError, InvalidRequest, NothingToApprove
from threadline.chat.events import ApprovalRequired, HistoryItem, InterruptEvent
from threadline.chat.turns.turn_parts import Answer, Cancel, Decision, Response
from threadline.transport.ag_ui.render import agui_id
from threadline.transport.params import CONVERSATION_ID_PATTERN
from threadline.transport.rest import ApiError

__all__ = (
    "HistoryMismatch",
    "NewMessage",
    "Plan",
    "answers_of",
    "client_tools",
    "parse_input",
    "plan_run",
)

# The roles a thread stores; AG-UI's system, developer, activity and reasoning messages
# are the client's own (the served graph has its own prompt).
_STORED_ROLES = frozenset({"user", "assistant", "tool"})
_DETAIL_CHARS = 300
# What a model provider takes as a tool's name; and how many a client may offer.
_TOOL_NAME = r"[A-Za-z0-9_-]{1,64}"
MAX_CLIENT_TOOLS = 64


class HistoryMismatch(ChatError):
    """The run's message list contradicts the stored thread."""

    code = "history_mismatch"
    default_detail = (
        "the messages sent contradict the stored thread: an earlier message is changed, "
        "missing or out of order; load the thread again (MESSAGES_SNAPSHOT) and resend"
    )


class NewMessage(NamedTuple):
    """The user message a run adds (or sends again): its text and its client's id."""

    text: str
    client_id: str


class Plan(NamedTuple):
    """What a run does: add or resend a message, answer interrupts or tool calls, or nothing."""

    message: NewMessage | None = None
    answers: Sequence[Answer] = ()
    results: Sequence[ToolMessage] = ()


def _refused(field: str, detail: str, code: str = "invalid_request") -> ApiError:
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, code, f"{field}: {detail}", field)


def parse_input(body: dict[str, Any], max_message_bytes: int) -> RunAgentInput:
    """The request's `RunAgentInput`.

    Raises:
        ApiError: Not a `RunAgentInput`, a thread id Threadline cannot keep, or a user
            message that is empty, holds a NUL or media, or is too large (422).
    """
    try:
        run = RunAgentInput.model_validate(body)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise _refused(field, str(first["msg"])[:_DETAIL_CHARS]) from None
    if not re.fullmatch(CONVERSATION_ID_PATTERN, run.thread_id):
        raise _refused("threadId", "1-128 letters, digits, _ and -")
    for index, message in enumerate(run.messages):
        if isinstance(message, UserMessage):
            _check_text(text_of(message), f"messages.{index}.content", max_message_bytes)
    tools = run.tools or []
    if len(tools) > MAX_CLIENT_TOOLS:
        raise _refused("tools", f"at most {MAX_CLIENT_TOOLS} tools")
    for index, tool in enumerate(tools):
        if not re.fullmatch(_TOOL_NAME, tool.name):
            raise _refused(f"tools.{index}.name", "1-64 letters, digits, _ and -")
    return run


def client_tools(run: RunAgentInput) -> list[dict[str, Any]]:
    """The run's front-end tools, as the model is offered them (OpenAI's function format)."""
    empty = {"type": "object", "properties": {}}
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters or empty,
            },
        }
        for tool in run.tools or []
    ]


def text_of(message: UserMessage | AgUiToolMessage) -> str:
    """A user or tool message's text (its text parts joined).

    Raises:
        ApiError: It holds media (images, files): not taken here.
    """
    if isinstance(message.content, str):
        return message.content
    if any(not isinstance(part, TextPart) for part in message.content):
        raise _refused("messages.content", "only text parts are taken by this server")
    return "".join(part.text for part in message.content if isinstance(part, TextPart))


def _check_text(text: str, field: str, max_bytes: int) -> None:
    if not text.strip():
        raise _refused(field, "must not be empty or only whitespace")
    if "\x00" in text:
        raise _refused(field, "must not contain NUL characters")
    if len(text.encode()) > max_bytes:
        raise _refused(field, f"exceeds the limit of {max_bytes} bytes", "message_too_large")


def _stored(messages: Sequence[Message]) -> list[Message]:
    return [m for m in messages if m.role in _STORED_ROLES]


def _same(item: HistoryItem, message: Message) -> bool:
    if message.id != agui_id(item) or message.role != item.role:
        return False
    return not isinstance(message, UserMessage) or text_of(message) == item.content


def plan_run(run: RunAgentInput, stored: list[HistoryItem], waiting: list[Any]) -> Plan:
    """What the run does to the thread whose messages are `stored` (and waits for `waiting`).

    Raises:
        HistoryMismatch: The list contradicts the stored thread.
        NothingToApprove, InvalidRequest: A `resume` that answers nothing the thread
            waits for, or not as it asks.
    """
    sent = _stored(run.messages)
    known = min(len(sent), len(stored))
    if not all(_same(item, message) for item, message in zip(stored[:known], sent, strict=False)):
        raise HistoryMismatch
    new = sent[known:]
    if run.resume:
        if new:
            raise HistoryMismatch("a run that resumes adds no messages")
        return Plan(answers=answers_of(run.resume, waiting))
    if not waiting and (waiting_calls := _unanswered(stored)):  # calls to the client's tools
        return Plan(results=_results(new, waiting_calls)) if len(sent) > len(stored) else Plan()
    if not new:
        last = stored[known - 1] if known else None
        if last is not None and last.role == "user" and last.client_message_id is not None:
            return Plan(NewMessage(last.content, last.client_message_id))  # a resend
        return Plan()
    if len(new) == 1 and isinstance(new[0], UserMessage):
        return Plan(NewMessage(text_of(new[0]), new[0].id))
    if not stored:
        raise HistoryMismatch(
            "a new thread starts with one user message: earlier messages are not taken "
            "(start the thread on Threadline, or send only the new message)"
        )
    raise HistoryMismatch("a run adds one user message after the stored thread")


def _unanswered(stored: list[HistoryItem]) -> dict[str, str]:
    """The calls the stored thread ends on, unanswered (for the client's tools): id -> name."""
    last = stored[-1] if stored else None
    if last is None or last.role != "assistant" or not last.tool_calls:
        return {}
    return {call.tool_call_id: call.name for call in last.tool_calls}


def _results(new: Sequence[Message], calls: dict[str, str]) -> list[ToolMessage]:
    """The client's results of `calls`, one each, as the thread stores them.

    Raises:
        HistoryMismatch: Anything else after them, or a call left unanswered.
    """
    answered = [m for m in new if isinstance(m, AgUiToolMessage) and m.tool_call_id in calls]
    if len(answered) != len(new) or {m.tool_call_id for m in answered} != set(calls):
        detail = (
            "the thread waits for the results of its calls to your tools "
            f"({', '.join(sorted(calls))}): send one tool message per call, and only them"
        )
        raise HistoryMismatch(detail[:_DETAIL_CHARS])
    return [
        ToolMessage(
            content=text_of(m),
            tool_call_id=m.tool_call_id,
            name=calls[m.tool_call_id],
            id=m.id,
            status="error" if m.error else "success",
        )
        for m in answered
    ]


def answers_of(
    entries: Sequence[ResumeEntry], waiting: Sequence[InterruptEvent | ApprovalRequired]
) -> list[Answer]:
    """Each resume entry as the answer the service takes, for what the thread waits for.

    An approval is answered by its tool call's id with `{"approved": bool, "args"?: {}}`;
    an interrupt by its id with any JSON value; `cancelled` drops what the run waits for.

    Raises:
        NothingToApprove: An entry names nothing that waits.
        InvalidRequest: Its payload is not an answer.
    """
    by_id = {_interrupt_id(w): w for w in waiting}
    answers: list[Answer] = []
    for entry in entries:
        asked = by_id.get(entry.interrupt_id)
        if asked is None:
            detail = f"resume: nothing of this thread waits under {entry.interrupt_id!r}"
            raise NothingToApprove(detail[:_DETAIL_CHARS])
        if entry.status == "cancelled":
            interrupt = asked.interrupt_id if isinstance(asked.interrupt_id, str) else None
            return [Cancel(interrupt)]  # the whole pause goes: nothing else to answer
        if isinstance(asked, InterruptEvent):
            answers.append(Response(asked.interrupt_id, entry.payload))
        else:
            answers.append(_decision(asked.tool_call_id, entry.payload))
    return answers


def _interrupt_id(waiting: InterruptEvent | ApprovalRequired) -> str:
    return waiting.tool_call_id if isinstance(waiting, ApprovalRequired) else waiting.interrupt_id


def _decision(tool_call_id: str, payload: Any) -> Decision:
    if isinstance(payload, bool):
        return Decision(tool_call_id, payload)
    approved = payload.get("approved") if isinstance(payload, dict) else None
    args = payload.get("args") if isinstance(payload, dict) else None
    if not isinstance(approved, bool) or not isinstance(args, dict | None):
        detail = 'resume: an approval\'s payload is {"approved": true|false, "args"?: {...}}'
        raise InvalidRequest(detail)
    return Decision(tool_call_id, approved, args)
