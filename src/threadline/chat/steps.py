"""The frames a turn's tool steps become: calls, results, and calls awaiting approval."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage

from threadline.chat.events import (
    ApprovalRequired,
    ServerFrame,
    ToolCallEvent,
    ToolCallItem,
    ToolResultEvent,
)
from threadline.engine.approvals import ApprovalRequest

__all__ = ("approval_item", "approval_required", "step_frames")


def step_frames(conversation_id: str, message: AIMessage | ToolMessage) -> list[ServerFrame]:
    """A `tool_call` per call of an assistant message, or the `tool_result` of a tool."""
    if isinstance(message, ToolMessage):
        result = ToolResultEvent(
            conversation_id,
            message.tool_call_id,
            message.name or "",
            str(message.text),
            is_error=message.status == "error",
        )
        return [result]
    return [
        ToolCallEvent(
            conversation_id, message.id or "", call["id"] or "", call["name"], call["args"]
        )
        for call in message.tool_calls
    ]


def approval_required(conversation_id: str, request: ApprovalRequest) -> ApprovalRequired:
    """The frame telling the user which call waits for their decision."""
    return ApprovalRequired(conversation_id, request.tool_call_id, request.name, request.args)


def approval_item(request: ApprovalRequest | None) -> ToolCallItem | None:
    """The waiting call as history and the REST API show it."""
    if request is None:
        return None
    return ToolCallItem(request.tool_call_id, request.name, request.args)
