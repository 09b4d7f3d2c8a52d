"""Reading a paused run's interrupts: questions, and tool approvals in their asker's shape."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from langgraph.types import Interrupt

from threadline.engine.approvals import InvalidDecision, pending_of

CALLS = AIMessage(
    "",
    tool_calls=[
        {"id": "call_a", "name": "transfer", "args": {"amount": 5}},
        {"id": "call_b", "name": "lookup", "args": {}},
        {"id": "call_c", "name": "transfer", "args": {"amount": 7}},
    ],
)


def test_a_batched_request_of_several_calls_is_matched_to_them_and_decided_together() -> None:
    value = {
        "action_requests": [
            {"name": "transfer", "args": {"amount": 7}, "description": "seven"},
            {"name": "transfer", "args": {"amount": 5}, "description": "five"},
        ],
        "review_configs": [
            {"action_name": "transfer", "allowed_decisions": ["approve", "reject"]},
            {"action_name": "transfer", "allowed_decisions": ["approve", "edit", "reject"]},
        ],
    }
    [pending] = pending_of([Interrupt(value, id="i1")], [CALLS])
    assert [(a.tool_call_id, a.decisions, a.description) for a in pending.approvals] == [
        ("call_c", ("approve", "deny"), "seven"),
        ("call_a", ("approve", "edit", "deny"), "five"),
    ]
    with pytest.raises(InvalidDecision, match="answer them together"):
        pending.decide("call_a", approved=True, args=None)


def test_a_single_batched_call_is_approved_edited_or_rejected_in_a_decisions_list() -> None:
    value = {
        "action_requests": [{"name": "transfer", "args": {"amount": 5}}],
        "review_configs": [{"action_name": "transfer", "allowed_decisions": ["approve", "edit"]}],
    }
    [pending] = pending_of([Interrupt(value, id="i1")], [CALLS])
    assert pending.decide("call_a", approved=True, args=None) == {
        "decisions": [{"type": "approve"}]
    }
    edited = {"type": "edit", "edited_action": {"name": "transfer", "args": {"amount": 3}}}
    assert pending.decide("call_a", approved=True, args={"amount": 3}) == {"decisions": [edited]}
    assert pending.decide("call_a", approved=False, args=None) == {
        "decisions": [{"type": "reject"}]
    }


def test_a_per_call_request_allows_what_its_response_schema_lists() -> None:
    schema = {
        "discriminator": {"propertyName": "type"},
        "oneOf": [
            {"properties": {"type": {"const": "approve"}}},
            {"properties": {"type": {"const": "reject"}, "message": {"type": "string"}}},
        ],
    }
    value = {
        "type": "tool_approval",
        "tool_call_id": "call_a",
        "name": "transfer",
        "args": {"amount": 5},
        "description": "check it",
    }
    [pending] = pending_of([Interrupt(value, id="i2", response_schema=schema)], [CALLS])
    [approval] = pending.approvals
    assert (approval.decisions, approval.kind) == (("approve", "deny"), "per_call")
    assert pending.decide("call_a", approved=False, args=None) == {"type": "reject"}
    with pytest.raises(InvalidDecision, match="not edited"):
        pending.decide("call_a", approved=True, args={"amount": 500})


def test_threadlines_own_approval_and_any_other_value() -> None:
    own = {"tool_call_id": "call_b", "name": "lookup", "args": {}}
    asked = {"when": object(), "question": "sure?"}
    pending = pending_of([Interrupt(own, id="i3"), Interrupt(asked, id="i4")], [CALLS])
    assert pending[0].decide("call_b", approved=True, args=None) == {"approved": True}
    assert pending[1].approvals == ()
    assert pending[1].value["question"] == "sure?"
    assert isinstance(pending[1].value["when"], str)  # not JSON: as its text
