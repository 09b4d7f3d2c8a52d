"""Storage and turn cost of one long conversation: Threadline's graph vs LangGraph defaults.

    uv run python bench/storage.py [--turns 1000]

Drives one conversation to N turns of ~1 KB user messages (seeded random English words, so
PostgreSQL's compression gets no easier ride than on real chat) with the instant offline
model, once through Threadline's own turn path (the lease, then `TurnRunner.run`, as the
server runs a turn, with the default CONTEXT_TOKENS) and once with LangGraph's default
`MessagesState` on the official saver (default durability), each in a database of its own
on one embedded PostgreSQL. Prints, at turns 10/100/500/1000 (those that are reached), the
checkpoint tables' bytes (tables, indexes and TOAST) against the raw transcript's, and the
median server time of the turns around that point.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from threadline.engine.graph import build_graph
from threadline.engine.runner import TurnRunner
from threadline.llm.offline import OfflineChatModel
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import start_embedded_postgres
from threadline.storage.leases import ConversationLocks
from threadline.storage.schema import migrate

MARKS = (10, 100, 500, 1000)
TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
VOCABULARY = (
    "the of and to a in is you that it he was for on are as with his they at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her "
    "would make like him into time has look two more write go see number no way could people "
    "my than first water been call who oil its now find long down day did get come made may "
    "part over new sound take only little work know place year live me back give most very "
    "after thing our just name good sentence man think say great where help through much "
    "before line right too mean old any same tell boy follow came want show also around form "
    "three small set put end does another well large must big even such because turn here "
    "why ask went men read need land different home us move try kind hand picture again "
    "change off play spell air away animal house point page letter mother answer found study"
)


def _message(turn: int) -> str:
    rng = random.Random(turn)  # noqa: S311 - reproducible text, not a secret
    words = VOCABULARY.split()
    text = f"turn {turn}:"
    while len(text) < 1000:
        text += " " + rng.choice(words)
    return text


class _Quiet:
    async def accepted(self) -> None:
        return None

    async def delta(self, text: str) -> None:  # noqa: ARG002
        return None

    def state(self, messages: list[AnyMessage]) -> None:  # noqa: ARG002
        return None


def _default_graph(saver: AsyncPostgresSaver) -> Any:
    model = OfflineChatModel()

    async def respond(state: MessagesState) -> MessagesState:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    return builder.compile(checkpointer=saver)


async def _table_bytes(conn: psycopg.AsyncConnection[Any]) -> int:
    total = 0
    for table in TABLES:
        row = await (await conn.execute("SELECT pg_total_relation_size(%s)", (table,))).fetchone()
        total += int(row[0]) if row else 0
    return total


async def _turn(
    runner: TurnRunner, locks: ConversationLocks, thread: str, question: HumanMessage, reply: str
) -> str:
    """One turn as the server takes it (`chat.turn.Turn`): under the lease, which stores the
    message and checks what the server remembers of the thread, then the run."""
    ahead = runner.store_ahead(thread, [question])
    async with locks.hold(thread, inputs=ahead.inputs if ahead else None) as lease:
        with runner.trusting(thread, lease.observed):
            stored = ahead is not None and ahead.stored(lease.stored)
            answer = await runner.run(thread, [question], reply, _Quiet(), stored=stored)
    return str(answer.content)


async def drive(url: str, flavour: str, turns: int) -> list[dict[str, float]]:
    """Run `turns` turns of one conversation; returns figures at each mark."""
    kwargs = {"autocommit": True, "row_factory": dict_row}
    async with AsyncConnectionPool(url, min_size=2, max_size=4, kwargs=kwargs) as pool:
        if flavour == "threadline":
            saver: AsyncPostgresSaver = PooledPostgresSaver(pool)  # type: ignore[arg-type]
            budget = next(f for f in msgspec.structs.fields(Settings) if f.name == "context_tokens")
            graph = build_graph(
                OfflineChatModel(), saver, "You are helpful.", RetryPolicy(0, 0.1), budget.default
            )
            runner = TurnRunner(graph, "offline", timeout=60)
            locks = ConversationLocks(pool)  # type: ignore[arg-type]
            await migrate(url, saver, AsyncPostgresStore(pool))  # type: ignore[arg-type]
        else:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            graph = _default_graph(saver)
            await saver.setup()
        thread = f"long-{flavour}"
        config = {"configurable": {"thread_id": thread}}
        times: list[float] = []
        raw = 0
        results = []
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for turn in range(1, turns + 1):
                text = _message(turn)
                started = time.perf_counter()
                if flavour == "threadline":
                    question = HumanMessage(text, id=f"q{turn}")
                    reply = await _turn(runner, locks, thread, question, f"r{turn}")
                else:
                    out = await graph.ainvoke({"messages": [HumanMessage(text)]}, config)
                    reply = str(out["messages"][-1].content)
                times.append(time.perf_counter() - started)
                raw += len(text.encode()) + len(reply.encode())
                if turn in MARKS:
                    window = times[max(0, turn - 5) :]
                    stored = await _table_bytes(conn)
                    results.append(
                        {
                            "turn": turn,
                            "raw_kb": raw / 1024,
                            "stored_kb": stored / 1024,
                            "ratio": stored / raw,
                            "turn_ms": statistics.median(window) * 1000,
                        }
                    )
    return results


def main() -> None:
    """Run both flavours and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadline-storage-") as tmp:
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        try:
            rows = {}
            for flavour in ("threadline", "default"):
                server.psql(f"CREATE DATABASE bench_{flavour};")
                rows[flavour] = asyncio.run(
                    drive(server.get_uri(f"bench_{flavour}"), flavour, args.turns)
                )
        finally:
            server.cleanup()
    print(_render(rows))


def _render(rows: dict[str, list[dict[str, float]]]) -> str:
    lines = [
        "| turn | raw KB | Threadline KB (x raw) | turn ms | LangGraph default KB (x raw)"
        " | turn ms |",
        "|---|---|---|---|---|---|",
    ]
    for ours, base in zip(rows["threadline"], rows["default"], strict=True):
        theirs = f"{base['stored_kb']:.0f} ({base['ratio']:.1f}x) | {base['turn_ms']:.1f}"
        mine = f"{ours['stored_kb']:.0f} ({ours['ratio']:.1f}x) | {ours['turn_ms']:.1f}"
        lines.append(f"| {ours['turn']:.0f} | {ours['raw_kb']:.0f} | {mine} | {theirs} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
