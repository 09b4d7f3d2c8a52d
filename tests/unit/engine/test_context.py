"""The context window's arithmetic: what is folded, and how the summary is bounded."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from tests.models import EchoModel
from threadline.engine.context import (
    estimate_tokens,
    fold,
    summarize,
    summary_limit,
    summary_message,
)
from threadline.engine.window import bounded_window

pytestmark = pytest.mark.anyio


def _turns(count: int, words: int = 50) -> list[AnyMessage]:
    messages: list[AnyMessage] = []
    for n in range(count):
        messages.append(HumanMessage("question " * words, id=f"h{n}"))
        messages.append(AIMessage("answer " * words, id=f"a{n}"))
    return messages


def test_nothing_is_folded_while_the_messages_fit() -> None:
    messages = _turns(2)
    assert fold(messages, budget=10 * estimate_tokens(messages)) == 0


def test_past_the_recent_share_the_oldest_are_folded_until_half_of_it_is_left() -> None:
    messages = _turns(20)
    budget = 2000
    cut = fold(messages, budget)
    kept = messages[cut:]

    assert cut > 0
    assert estimate_tokens(kept) <= budget * 0.6 / 2
    assert estimate_tokens(messages[cut - 1 :]) > budget * 0.6 / 2  # no more was folded


def test_the_system_prompt_counts_against_the_recent_share() -> None:
    messages = _turns(10)
    budget = 4000
    assert fold(messages, budget, reserved=1000) > fold(messages, budget, reserved=0)


def test_the_newest_message_is_kept_whatever_it_costs() -> None:
    huge = HumanMessage("word " * 10_000, id="huge")
    assert fold([*_turns(3), huge], budget=500) == 6


def test_a_tool_result_is_never_kept_without_the_call_that_asked_for_it() -> None:
    call = AIMessage("", id="call", tool_calls=[{"name": "t", "args": {}, "id": "t1"}])
    result = ToolMessage("result " * 200, tool_call_id="t1", id="result")
    messages = [*_turns(10), call, result, HumanMessage("and?", id="last")]
    cut = fold(messages, budget=900)

    assert not isinstance(messages[cut], ToolMessage)


async def test_the_summary_stays_within_its_share_whatever_the_model_answers() -> None:
    echo = EchoModel()
    budget = 1000
    summary, _ = await summarize(echo, "earlier " * 500, _turns(30, words=200), budget)

    assert estimate_tokens(summary_message(summary)) <= summary_limit(budget)
    request = estimate_tokens(echo.requests[0])
    assert request <= budget - summary_limit(budget)
    assert request > 0.8 * (budget - summary_limit(budget))  # the folded text got its room
    assert summary.endswith("…")  # it was cut


@pytest.mark.parametrize("digest", [123, "x", {"summary": 1}, {"messages": 2}, None])
async def test_a_digest_of_another_shape_is_read_as_none_so_the_thread_goes_on(
    digest: object,
) -> None:
    # A state written before `POST /threads/{id}/state` checked its values could hold one.
    state: Any = {"messages": [HumanMessage("hi", id="h")], "digest": digest}
    window = await bounded_window(state, EchoModel(), budget=10_000)
    assert [m.content for m in window.messages] == ["hi"]
    assert window.digest == {"summary": "", "messages": 0}
