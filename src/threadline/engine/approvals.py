"""Tool calls that wait for the user: what a paused run asks, and how the engine says so."""

from __future__ import annotations

from typing import Any, NamedTuple

from langgraph.types import Interrupt

__all__ = ("ApprovalPending", "ApprovalRequest", "AwaitingApproval", "request_of")


class ApprovalRequest(NamedTuple):
    """A tool call the run paused on, until the user approves or denies it."""

    interrupt_id: str
    tool_call_id: str
    name: str
    args: dict[str, Any]


class AwaitingApproval(Exception):
    """The run paused before a tool call that needs the user's approval."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(request.name)
        self.request = request


class ApprovalPending(Exception):
    """The conversation waits for an approval; nothing else may be added to it until then."""


def request_of(pending: Interrupt) -> ApprovalRequest:
    """The approval request a run's interrupt carries (see `tools.node`)."""
    value = pending.value if isinstance(pending.value, dict) else {}
    return ApprovalRequest(
        pending.id,
        str(value.get("tool_call_id", "")),
        str(value.get("name", "")),
        value.get("args", {}),
    )
