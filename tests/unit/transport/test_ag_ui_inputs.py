"""An AG-UI run's message list set against the stored thread: what is new, a resend, the
results of front-end tools, and every kind of contradiction refused."""

from __future__ import annotations

from typing import Any

import pytest
from ag_ui.core import RunAgentInput

from threadline.chat.errors import NothingToApprove
from threadline.chat.events import ApprovalRequired, HistoryItem, ToolCallItem
from threadline.chat.turns.turn_parts import Cancel, Decision
from threadline.transport.ag_ui.inputs import HistoryMismatch, NewMessage, plan_run

STORED = [
    HistoryItem("m1", "user", "Hi", client_message_id="c1"),
    HistoryItem("m2", "assistant", "Hello"),
]
SENT: list[dict[str, Any]] = [
    {"id": "c1", "role": "user", "content": "Hi"},
    {"id": "m2", "role": "assistant", "content": "Hello"},
]


def _run(messages: list[dict[str, Any]], **more: Any) -> RunAgentInput:
    return RunAgentInput.model_validate(
        {"threadId": "t", "runId": "r", "messages": messages, **more}
    )


def test_the_one_user_message_after_the_stored_thread_is_the_runs() -> None:
    plan = plan_run(_run([*SENT, {"id": "c3", "role": "user", "content": "More"}]), STORED, [])
    assert plan.message == NewMessage("More", "c3")


def test_the_clients_own_messages_are_not_compared() -> None:
    system = {"id": "s", "role": "system", "content": "Be brief"}
    plan = plan_run(_run([system, *SENT]), STORED, [])
    assert plan.message is None
    assert not plan.answers


def test_a_stored_prefix_ending_with_a_user_message_is_a_resend() -> None:
    assert plan_run(_run(SENT[:1]), STORED, []).message == NewMessage("Hi", "c1")


@pytest.mark.parametrize(
    "messages",
    [
        [{**SENT[0], "content": "Changed"}, SENT[1]],  # an earlier message changed
        [SENT[1], SENT[0]],  # out of order
        [{"id": "c9", "role": "user", "content": "Only new"}],  # the stored ones left out
        [
            *SENT,
            {"id": "a", "role": "user", "content": "1"},
            {"id": "b", "role": "user", "content": "2"},
        ],
    ],
)
def test_a_list_that_contradicts_the_stored_thread_is_refused(
    messages: list[dict[str, Any]],
) -> None:
    with pytest.raises(HistoryMismatch):
        plan_run(_run(messages), STORED, [])


def test_a_new_thread_is_not_seeded_with_earlier_messages() -> None:
    with pytest.raises(HistoryMismatch, match="one user message"):
        plan_run(_run([*SENT, {"id": "c3", "role": "user", "content": "More"}]), [], [])


def test_the_results_of_the_calls_the_thread_ends_on_are_stored() -> None:
    asked = HistoryItem("m2", "assistant", "", tool_calls=[ToolCallItem("k1", "show", {})])
    sent = [SENT[0], {"id": "m2", "role": "assistant", "toolCalls": []}]
    result = {"id": "t1", "role": "tool", "toolCallId": "k1", "content": "shown"}
    (stored,) = plan_run(_run([*sent, result]), [STORED[0], asked], []).results
    assert (stored.id, stored.tool_call_id, stored.name, stored.text) == (
        "t1",
        "k1",
        "show",
        "shown",
    )
    with pytest.raises(HistoryMismatch, match="k1"):
        plan_run(
            _run([*sent, {"id": "u", "role": "user", "content": "No"}]), [STORED[0], asked], []
        )


def test_resume_answers_an_approval_by_its_call_and_cancels_by_its_interrupt() -> None:
    waiting = [ApprovalRequired("t", "k1", "calculator", {}, interrupt_id="i1")]
    approve = [{"interruptId": "k1", "status": "resolved", "payload": {"approved": True}}]
    cancel = [{"interruptId": "k1", "status": "cancelled"}]
    assert plan_run(_run(SENT, resume=approve), STORED, waiting).answers == [
        Decision("k1", True, None)
    ]
    assert plan_run(_run(SENT, resume=cancel), STORED, waiting).answers == [Cancel("i1")]
    with pytest.raises(NothingToApprove):
        plan_run(_run(SENT, resume=[{"interruptId": "x", "status": "resolved"}]), STORED, waiting)
