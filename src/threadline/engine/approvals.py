"""What a paused run waits for: LangGraph interrupts, read as questions or tool approvals.

Any `interrupt(value)` is a question the user answers with any JSON value. Three kinds
are tool calls waiting for approval, each answered in the shape its asker expects:

- LangChain's `HumanInTheLoopMiddleware`, batched: `{action_requests, review_configs}`,
  answered `{"decisions": [...]}` (one decision per action, in order). Threadline's own
  (`tools.node`) ask so too, one call each, so clients made for the middleware answer
  them.
- Threadline's own as they were asked before: `{tool_call_id, name, args}`, answered
  `{"approved": bool}` (a run paused then is still answered).
- The same, per call: `{type: "tool_approval", tool_call_id, name, args, description}`,
  answered with one decision; the decisions it allows are in the interrupt's
  `response_schema`.

A decision there is `{"type": "approve"}`, `{"type": "reject"}` or
`{"type": "edit", "edited_action": {"name", "args"}}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

import msgspec
from langchain_core.messages import AIMessage, AnyMessage
from langgraph.types import Interrupt

__all__ = (
    "ApprovalPending",
    "ApprovalRequest",
    "AwaitingApproval",
    "InvalidDecision",
    "PendingInterrupt",
    "pending_of",
)

Kind = Literal["threadline", "batched", "per_call"]
# The decisions a client may send, as Threadline names them (`deny` is LangChain's reject).
_DECISIONS = ("approve", "edit", "deny")
_OWN_KEYS = {"tool_call_id", "name", "args"}


class ApprovalRequest(NamedTuple):
    """A tool call the run paused on, until the user approves, edits or denies it."""

    interrupt_id: str
    tool_call_id: str
    name: str
    args: dict[str, Any]
    kind: Kind = "threadline"
    decisions: tuple[str, ...] = ("approve", "deny")
    description: str | None = None

    def answer(self, approved: bool, args: dict[str, Any] | None = None) -> Any:
        """The resume value of this call's interrupt for the user's decision.

        Raises:
            InvalidDecision: An edit (`args`) where the asker does not allow one.
        """
        if args is not None and "edit" not in self.decisions:
            msg = f"{self.name!r} may only be approved or denied, not edited (no edit allowed)"
            raise InvalidDecision(msg)
        if self.kind == "threadline":
            return {"approved": approved}
        decision: dict[str, Any] = {"type": "approve" if approved else "reject"}
        if approved and args is not None:
            decision = {"type": "edit", "edited_action": {"name": self.name, "args": args}}
        return {"decisions": [decision]} if self.kind == "batched" else decision


class PendingInterrupt(NamedTuple):
    """One interrupt a run waits on: its id, its value as JSON, and the calls it asks about."""

    interrupt_id: str
    value: Any
    approvals: tuple[ApprovalRequest, ...] = ()

    def decide(self, tool_call_id: str, approved: bool, args: dict[str, Any] | None) -> Any:
        """The resume value for the user's decision on one of this interrupt's calls.

        Raises:
            InvalidDecision: The decision does not fit (an edit not allowed; one call of a
                batched request asking about several, which are answered together).
        """
        approval = next(a for a in self.approvals if a.tool_call_id == tool_call_id)
        if len(self.approvals) > 1:
            msg = (
                f"this request asks about {len(self.approvals)} tool calls at once: answer "
                'them together with `respond` and the value {"decisions": [...]}'
            )
            raise InvalidDecision(msg)
        return approval.answer(approved, args)

    def check_response(self, value: Any) -> None:
        """Refuse a raw resume value an approval request would misread (as a denial).

        A question (no approvals) takes any JSON. Tool approvals take `{"approved": bool}`
        (what Threadline's own tools node reads, whatever shape it asked in) or their
        asker's shape: one decision `{"type": ...}` (per call) or `{"decisions": [one per
        call]}` (batched).

        Raises:
            InvalidDecision: The value is none of the shapes this request takes.
        """
        if not self.approvals or _fits(self.approvals[0].kind, value, len(self.approvals)):
            return
        msg = (
            "an approval's answer is {\"approved\": true|false}, or LangChain's "
            '{"decisions": [{"type": "approve"|"reject"|"edit", ...}]} (one per call)'
        )
        raise InvalidDecision(msg)


def _fits(kind: Kind, value: Any, calls: int) -> bool:
    """Whether `value` is an answer of a shape an approval request of `kind` reads."""
    if isinstance(value, dict) and "approved" in value:  # what Threadline's own node reads
        return isinstance(value["approved"], bool)
    if kind == "per_call":
        return _is_decision(value)
    decisions = value.get("decisions") if isinstance(value, dict) else None
    wanted = calls if kind == "batched" else 1
    return (
        isinstance(decisions, list)
        and len(decisions) == wanted
        and all(_is_decision(d) for d in decisions)
    )


def _is_decision(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in {"approve", "reject", "edit"}


class AwaitingApproval(Exception):
    """The run paused: it waits for the user's answer to each of `pending`."""

    def __init__(self, pending: Sequence[PendingInterrupt]) -> None:
        super().__init__(", ".join(p.interrupt_id for p in pending))
        self.pending = tuple(pending)


class ApprovalPending(Exception):
    """The conversation waits for an answer; nothing else may be added to it until then."""

    def __init__(self, interrupt_id: str | None = None) -> None:
        super().__init__(interrupt_id or "")
        self.interrupt_id = interrupt_id


class InvalidDecision(ValueError):
    """A decision the interrupt does not accept (an edit where only approval is allowed)."""


def pending_of(
    interrupts: Iterable[Interrupt], messages: Sequence[AnyMessage]
) -> list[PendingInterrupt]:
    """The interrupts a run paused on, each read as a question or as tool approvals.

    Args:
        interrupts: LangGraph's interrupts, in order.
        messages: The thread's messages: a batched request's calls are found in the last
            assistant message (its action requests name no call id).
    """
    calls = _last_calls(messages)
    return [_read(pending, calls) for pending in interrupts]


def _read(pending: Interrupt, calls: list[dict[str, Any]]) -> PendingInterrupt:
    value = _jsonable(pending.value)
    found = pending.id
    if isinstance(value, dict) and set(value) == _OWN_KEYS:
        approval = ApprovalRequest(found, str(value["tool_call_id"]), **_named(value))
        return PendingInterrupt(found, value, (approval,))
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        allowed = _allowed(pending.response_schema)
        description = str(value.get("description", "")) or None
        call_id = str(value.get("tool_call_id", ""))
        approval = ApprovalRequest(
            found,
            call_id,
            **_named(value),
            kind="per_call",
            decisions=allowed,
            description=description,
        )
        return PendingInterrupt(found, value, (approval,))
    if isinstance(value, dict) and isinstance(value.get("action_requests"), list):
        return PendingInterrupt(found, value, _batched(found, value, calls))
    return PendingInterrupt(found, value)


def _batched(
    interrupt_id: str, value: dict[str, Any], calls: list[dict[str, Any]]
) -> tuple[ApprovalRequest, ...]:
    """A batched request's actions, matched in order to the calls they stand for."""
    configs = value.get("review_configs") or []
    approvals = []
    for index, action in enumerate(value["action_requests"]):
        named = _named(action)
        call = next((c for c in calls if (c["name"], c["args"]) == tuple(named.values())), None)
        if call is not None:
            calls.remove(call)
        config = configs[index] if index < len(configs) else {}
        allowed = _ours(config.get("allowed_decisions", ["approve", "reject"]))
        description = str(action.get("description", "")) or None
        call_id = str(call["id"]) if call is not None else f"{interrupt_id}-{index}"
        approvals.append(
            ApprovalRequest(
                interrupt_id,
                call_id,
                **named,
                kind="batched",
                decisions=allowed,
                description=description,
            )
        )
    return tuple(approvals)


def _named(value: dict[str, Any]) -> dict[str, Any]:
    args = value.get("args")
    return {"name": str(value.get("name", "")), "args": args if isinstance(args, dict) else {}}


def _last_calls(messages: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    return [dict(call) for call in last.tool_calls] if last is not None else []


def _allowed(schema: object) -> tuple[str, ...]:
    """The decision types a per-call request's `response_schema` allows, in our words."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            kind = node.get("properties", {}).get("type", {})
            found.extend([kind["const"]] if "const" in kind else kind.get("enum", []))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)
    return _ours(found or ["approve", "reject"])


def _ours(decisions: Iterable[str]) -> tuple[str, ...]:
    named = {"reject": "deny"}
    wanted = {named.get(d, d) for d in decisions}
    return tuple(d for d in _DECISIONS if d in wanted)


def _jsonable(value: Any) -> Any:
    """An interrupt's value as JSON data (what cannot be, as its text)."""
    return msgspec.json.decode(msgspec.json.encode(value, enc_hook=_fallback))


def _fallback(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # a pydantic model
    return dump(mode="json") if callable(dump) else str(value)
