"""The events a turn's results become: its reply, its tool steps, what a paused run waits for."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from langchain_core.messages import AIMessage, ToolMessage

from threadline.chat.events import (
    ApprovalRequired,
    Citation,
    Context,
    Event,
    InterruptEvent,
    Replied,
    ToolCallEvent,
    ToolCallItem,
    ToolResultEvent,
)
from threadline.engine.approvals import ApprovalRequest, PendingInterrupt
from threadline.engine.replies import Reply

__all__ = (
    "approval_item",
    "approval_required",
    "citations_of",
    "pending_events",
    "replied",
    "reply_events",
    "step_events",
)


def replied(conversation_id: str, reply: Reply) -> Replied:
    """The `Replied` event of a reply."""
    agent = msgspec.UNSET if reply.agent is None else reply.agent
    citations = citations_of(reply)
    return Replied(
        conversation_id,
        reply.message_id,
        reply.content,
        reply.model,
        stopped=reply.stopped,
        agent=agent,
        citations=citations if citations else msgspec.UNSET,
    )


def citations_of(reply: Reply) -> list[Citation]:
    """The sources a reply cites (none if it searched no documents)."""
    return msgspec.convert(reply.citations or [], list[Citation])


def reply_events(conversation_id: str, reply: Reply) -> list[Event]:
    """The reply, then (unless it was stopped) how much of the conversation the model saw."""
    events: list[Event] = [replied(conversation_id, reply)]
    if reply.context is not None:
        events.append(Context(conversation_id, **reply.context))
    return events


def step_events(conversation_id: str, message: AIMessage | ToolMessage) -> list[Event]:
    """A `tool_call` per call of an assistant message, or the `tool_result` of a tool."""
    if isinstance(message, ToolMessage):
        result = ToolResultEvent(
            conversation_id,
            message.tool_call_id,
            message.name or "",
            str(message.text),
            is_error=message.status == "error",
            message_id=message.id or msgspec.UNSET,
        )
        return [result]
    return [
        ToolCallEvent(
            conversation_id, message.id or "", call["id"] or "", call["name"], call["args"]
        )
        for call in message.tool_calls
    ]


def approval_required(conversation_id: str, request: ApprovalRequest) -> ApprovalRequired:
    """The event telling the user which call waits for their decision."""
    return ApprovalRequired(
        conversation_id,
        request.tool_call_id,
        request.name,
        request.args,
        request.interrupt_id,
        msgspec.UNSET if request.description is None else request.description,
        list(request.decisions),  # type: ignore[arg-type]
    )


def pending_events(
    conversation_id: str, pending: Sequence[PendingInterrupt]
) -> list[InterruptEvent | ApprovalRequired]:
    """What a paused run waits for: an `approval_required` per call, else an `interrupt`."""
    events: list[InterruptEvent | ApprovalRequired] = []
    for waiting in pending:
        if waiting.approvals:
            events += [approval_required(conversation_id, a) for a in waiting.approvals]
        else:
            events.append(InterruptEvent(conversation_id, waiting.interrupt_id, waiting.value))
    return events


def approval_item(request: ApprovalRequest | None) -> ToolCallItem | None:
    """The waiting call as history and the REST API show it."""
    if request is None:
        return None
    return ToolCallItem(request.tool_call_id, request.name, request.args)
