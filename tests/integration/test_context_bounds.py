"""The context budget holds against the worst model: one that echoes its whole prompt.

Driven below the socket (the turn runner, the real graph and saver on PostgreSQL) so
hundreds of turns take seconds.
"""

from __future__ import annotations

import time

import msgspec
import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from tests.models import EchoModel
from threadline.engine.context import estimate_tokens, summary_limit, summary_message
from threadline.engine.graph import build_graph
from threadline.engine.runner import TurnRunner
from threadline.llm.prompts import SUMMARY_INSTRUCTION
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio

BUDGET = 2000
TURNS = 200  # about 100 folds of the window: past the first few, each is alike


class _Quiet:
    async def accepted(self) -> None:
        return None

    async def delta(
        self, text: str, message_id: str | None = None, agent: str | None = None
    ) -> None:
        return None

    def state(self, messages: list[AnyMessage]) -> None:
        return None

    async def step(self, message: AIMessage | ToolMessage) -> None:
        return None


async def test_an_echoing_model_never_gets_more_than_the_budget(settings: Settings) -> None:
    echo = EchoModel()
    assert settings.database_url is not None
    bounded = msgspec.structs.replace(settings, context_tokens=BUDGET)
    durations = []
    async with open_pool(settings.database_url.get(), bounded) as pool:
        saver = PooledPostgresSaver(pool)
        graph = build_graph(echo, saver, bounded.system_prompt, RetryPolicy(0, 0.1), BUDGET)
        runner = TurnRunner(graph, "echo", timeout=60)
        for turn in range(TURNS):
            text = f"turn {turn}: " + "lorem ipsum dolor sit amet " * 37  # about 1 KB
            started = time.perf_counter()
            await runner.run("echoed", [HumanMessage(text, id=f"h{turn}")], f"r{turn}", _Quiet())
            durations.append(time.perf_counter() - started)
        state = (await graph.aget_state({"configurable": {"thread_id": "echoed"}})).values

    summaries = [r for r in echo.requests if r[0].text == SUMMARY_INSTRUCTION]
    replies = [r for r in echo.requests if r[0].text != SUMMARY_INSTRUCTION]
    assert len(replies) == TURNS
    assert len(summaries) > 50  # the window was folded again and again
    assert max(estimate_tokens(r) for r in replies) <= BUDGET
    # A summarizing request leaves room for the summary it asks for.
    assert max(estimate_tokens(r) for r in summaries) <= BUDGET - summary_limit(BUDGET)
    assert estimate_tokens(summary_message(state["digest"]["summary"])) <= summary_limit(BUDGET)
    # Bounded prompts: the last turns cost what the first did (printed, not asserted).
    first, last = sorted(durations[:100])[50], sorted(durations[-100:])[50]
    print(f"median turn: first 100 {first * 1000:.1f} ms, last 100 {last * 1000:.1f} ms")
    print([round(sorted(durations[i : i + 100])[50] * 1000, 1) for i in range(0, TURNS, 100)])
