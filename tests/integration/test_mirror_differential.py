"""A trusted saver reads exactly what a stock `AsyncPostgresSaver` reads, whatever the graph.

Random graphs (a fixed seed: a failure reproduces) run turn after turn under the lease, as
the server runs them, with every durability: `Send` fan-out, retried nodes, subgraphs,
interrupts and resumes, `update_state`, forks from older checkpoints, and a delta channel
that snapshots every few writes. The saver's statements come back late at random, so
checkpoints and the writes on them finish in every order. At the start and the end of each
turn, the trusted saver's latest checkpoint and its delta history are compared with what a
stock saver reads from the same database.
"""

from __future__ import annotations

import asyncio
import operator
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, RetryPolicy, Send, interrupt
from psycopg import AsyncCursor
from psycopg.rows import DictRow

from threadline.settings import Settings
from threadline.storage.checkpoints.compression import CompressedSerializer
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import Pool, open_pool
from threadline.storage.leases import ConversationLocks

pytestmark = pytest.mark.anyio

SEED = 28
THREADS = 8
TURNS = 20
DURABILITIES: tuple[Literal["sync", "async", "exit"], ...] = ("sync", "async", "exit")
# How late a statement's coroutine resumes, in seconds: mostly at once, sometimes late.
_LATE = (0.0, 0.0, 0.05)


def _logged(current: list[str], writes: Sequence[Any]) -> list[str]:
    return [*current, *(item for write in writes for item in write)]


class State(TypedDict, total=False):
    log: Annotated[list[str], DeltaChannel(_logged, snapshot_frequency=10)]
    hops: Annotated[list[str], operator.add]
    turn: int


class _Late(PooledPostgresSaver):
    """The saver, whose statements that write return to it late, at random."""

    def __init__(self, pool: Pool, rng: random.Random) -> None:
        super().__init__(pool)
        self._rng = rng

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        async with super()._cursor(pipeline=pipeline) as cursor:
            yield cursor
        if pipeline:
            await asyncio.sleep(self._rng.choice(_LATE))


def _plan(config: RunnableConfig) -> dict[str, Any]:
    plan: dict[str, Any] = config["configurable"]["plan"]
    return plan


async def _say(state: State, config: RunnableConfig) -> State:
    await asyncio.sleep(_plan(config)["pause"])
    return {"log": [f"said {state.get('turn')}"], "hops": ["say"]}


def _route(state: State, config: RunnableConfig) -> list[Send | str]:
    plan = _plan(config)
    routes: list[Send | str] = [Send("work", {"turn": n}) for n in range(plan["fan"])]
    routes += [node for node in ("flaky", "ask", "sub") if plan[node]]
    return routes or ["work"]


async def _work(state: State, config: RunnableConfig) -> State:
    await asyncio.sleep(_plan(config)["pause"] / 2)
    return {"log": [f"worked {state.get('turn')}"], "hops": ["work"]}


async def _flaky(state: State, config: RunnableConfig) -> State:
    tries: list[int] = _plan(config)["tries"]
    tries.append(1)
    if len(tries) == 1:
        raise ConnectionError("transient")
    return {"log": ["flaky"]}


async def _ask(state: State) -> State:
    answer = interrupt("go on?")
    return {"log": [f"answered {answer}"]}


def _graph(saver: PooledPostgresSaver) -> CompiledStateGraph[Any, Any, Any, Any]:
    inner = StateGraph(State)
    inner.add_node("deep", _work)
    inner.add_edge(START, "deep")
    builder = StateGraph(State)
    builder.add_node("say", _say)
    builder.add_node("work", _work)
    builder.add_node("flaky", _flaky, retry_policy=RetryPolicy(initial_interval=0.001))
    builder.add_node("ask", _ask)
    builder.add_node("sub", inner.compile())
    builder.add_edge(START, "say")
    builder.add_conditional_edges("say", _route)
    return builder.compile(checkpointer=saver)


def _config(thread: str, rng: random.Random, checkpoint_id: str | None = None) -> RunnableConfig:
    plan: dict[str, Any] = {
        "fan": rng.choice((0, 1, 3)),
        "flaky": rng.random() < 0.2,
        "ask": rng.random() < 0.2,
        "sub": rng.random() < 0.2,
        "pause": rng.choice((0.0, 0.0, 0.002, 0.01)),
        "tries": [],
    }
    where: dict[str, Any] = {"thread_id": thread, "plan": plan}
    if checkpoint_id is not None:
        where["checkpoint_id"] = checkpoint_id
    return {"configurable": where}


async def _differences(ours: PooledPostgresSaver, stock: AsyncPostgresSaver, thread: str) -> int:
    """How many of the latest checkpoint's parts `ours` reads otherwise than `stock` (0-5)."""
    latest: RunnableConfig = {"configurable": {"thread_id": thread}}
    mine, theirs = await ours.aget_tuple(latest), await stock.aget_tuple(latest)
    if mine is None or theirs is None:
        return int(mine is not theirs)
    at = theirs.config
    histories = [
        await saver.aget_delta_channel_history(config=at, channels=["log"])
        for saver in (ours, stock)
    ]
    return sum(
        a != b
        for a, b in (
            (mine.checkpoint, theirs.checkpoint),
            (mine.metadata, theirs.metadata),
            (mine.parent_config, theirs.parent_config),
            (
                sorted(map(repr, mine.pending_writes or [])),
                sorted(map(repr, theirs.pending_writes or [])),
            ),
            (histories[0], histories[1]),
        )
    )


async def _turn(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    stock: AsyncPostgresSaver,
    thread: str,
    n: int,
    rng: random.Random,
) -> None:
    """One turn of a random kind: a message, a resume, an update, or a fork."""
    durability = rng.choice(DURABILITIES)
    state = await graph.aget_state({"configurable": {"thread_id": thread}})
    kind = rng.random()
    if state.interrupts:
        command: Command[Any] = Command(resume=f"yes {n}")
        await graph.ainvoke(command, _config(thread, rng), durability=durability)
    elif kind < 0.15 and state.values:
        await graph.aupdate_state(state.config, {"log": [f"updated {n}"]}, as_node="work")
    elif kind < 0.3 and state.values:
        older = [c async for c in stock.alist({"configurable": {"thread_id": thread}}, limit=6)]
        start = rng.choice(older).config["configurable"]["checkpoint_id"]
        inputs = {"log": [f"forked {n}"], "turn": n}
        await graph.ainvoke(inputs, _config(thread, rng, start), durability=durability)
    else:
        inputs = {"log": [f"message {n}"], "turn": n}
        await graph.ainvoke(inputs, _config(thread, rng), durability=durability)


async def _conversation(
    saver: _Late, stock: AsyncPostgresSaver, pool: Pool, thread: str
) -> tuple[int, int]:
    """Turns on one thread, each checked at its start and its end: (compared, differing)."""
    rng = random.Random(f"{SEED}/{thread}")  # noqa: S311 - reproducible, not secret
    graph = _graph(saver)
    locks = ConversationLocks(pool)
    compared = differing = 0
    for n in range(TURNS):
        async with locks.hold(thread) as lease:
            with saver.trusting(thread, lease.observed):
                differing += await _differences(saver, stock, thread)
                await _turn(graph, stock, thread, n, rng)
                differing += await _differences(saver, stock, thread)
                compared += 2
    return compared, differing


async def test_a_trusted_saver_reads_what_a_stock_saver_reads_for_random_graphs(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = _Late(pool, random.Random(SEED))  # noqa: S311 - reproducible, not secret
        stock = AsyncPostgresSaver(pool, serde=CompressedSerializer())
        threads = [f"t{n}" for n in range(THREADS)]
        results = await asyncio.gather(*(_conversation(saver, stock, pool, t) for t in threads))

    assert sum(compared for compared, _ in results) == 2 * THREADS * TURNS
    assert [differing for _, differing in results] == [0] * THREADS
