"""Baselines: graphs driven directly through LangGraph, no server in between.

`python -m bench.engine --mode MODE --database-url URL --clients N --turns M` prints one
JSON object: turns/s and latency percentiles.

Threadline's own graph:
- `bare`: tuned — `durability="exit"` and Threadline's saver (no per-instance lock).
- `defaults`: LangGraph's defaults — `durability="async"`, the official saver with its lock.

The simplest chatbot a user would write — `MessagesState`, one node that calls the model,
the official `AsyncPostgresSaver`:
- `simple`: tuned — `durability="exit"`, the saver's lock relaxed (a no-op).
- `simple-defaults`: LangGraph's defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from bench.clients import MESSAGE
from threadline.engine.graph import build_graph
from threadline.llm.offline import OfflineChatModel
from threadline.llm.retry import RetryPolicy
from threadline.storage.checkpoints.saver import PooledPostgresSaver


def _model(groq_base: str | None) -> BaseChatModel:
    if groq_base is None:
        return OfflineChatModel()
    from langchain_groq import ChatGroq  # noqa: PLC0415

    return ChatGroq(
        model="openai/gpt-oss-20b",
        api_key=SecretStr("gsk_bench"),
        base_url=groq_base,
        max_retries=0,
    )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, in milliseconds."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index] * 1000


class _NoLock:
    """What the tuned simple baseline puts in place of the saver's lock."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: object) -> None:
        return None


def _simple_graph(model: BaseChatModel, saver: AsyncPostgresSaver) -> CompiledStateGraph[Any]:
    """The chatbot of LangGraph's quick start: one node, the whole history to the model."""

    async def chatbot(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    return builder.compile(checkpointer=saver)


def _graph(mode: str, model: BaseChatModel, pool: Any) -> Any:
    if mode in {"simple", "simple-defaults"}:
        official = AsyncPostgresSaver(pool)
        if mode == "simple":
            official.lock = _NoLock()  # type: ignore[assignment]
        return _simple_graph(model, official), official
    saver = PooledPostgresSaver(pool) if mode == "bare" else AsyncPostgresSaver(pool)
    graph = build_graph(model, saver, "You are a helpful assistant.", RetryPolicy(0, 0.1))
    return graph, saver


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the baseline and return its figures."""
    kwargs = {"autocommit": True, "row_factory": dict_row}
    async with AsyncConnectionPool(
        args.database_url, min_size=args.pool, max_size=args.pool, kwargs=kwargs
    ) as pool:
        graph, saver = _graph(args.mode, _model(args.groq_base), pool)
        await saver.setup()
        durability: Durability = "exit" if args.mode in {"bare", "simple"} else "async"
        latencies: list[float] = []

        async def client(turns: int, record: bool) -> None:
            config = {
                "configurable": {"thread_id": f"{args.mode}-{uuid.uuid4().hex}", "reply_id": None}
            }
            for n in range(turns):
                started = time.perf_counter()
                inputs = {"messages": [HumanMessage(MESSAGE.format(n=n))]}
                await graph.ainvoke(inputs, config, durability=durability)
                if record:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client(1, record=False) for _ in range(args.clients)))
        started = time.perf_counter()
        await asyncio.gather(*(client(args.turns, record=True) for _ in range(args.clients)))
        elapsed = time.perf_counter() - started
    return {
        "mode": args.mode,
        "turns": len(latencies),
        "turns_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--mode", choices=["bare", "defaults", "simple", "simple-defaults"], required=True
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--pool", type=int, default=20)
    parser.add_argument("--groq-base")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
