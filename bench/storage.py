"""Storage and turn cost of one long conversation: Threadline's graph vs LangGraph defaults.

    uv run python bench/storage.py [--turns 1000]

Drives one conversation to N turns of ~1 KB user messages with the instant offline model,
once with Threadline's graph and saver (durability="sync", as the server runs it) and
once with LangGraph's default `MessagesState` on the official saver (durability "async"),
each in a database of its own on one embedded PostgreSQL. Prints, at turns 10/100/500/1000
(those that are reached), the checkpoint tables' bytes against the raw transcript's, and
the median server time of the turns around that point.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from threadline.database import start_embedded_postgres
from threadline.graph import build_graph
from threadline.offline import OfflineChatModel
from threadline.retry import RetryPolicy
from threadline.saver import PooledPostgresSaver

MARKS = (10, 100, 500, 1000)
TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


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


async def drive(url: str, flavour: str, turns: int) -> list[dict[str, float]]:
    """Run `turns` turns of one conversation; returns figures at each mark."""
    kwargs = {"autocommit": True, "row_factory": dict_row}
    async with AsyncConnectionPool(url, min_size=2, max_size=4, kwargs=kwargs) as pool:
        if flavour == "threadline":
            saver: AsyncPostgresSaver = PooledPostgresSaver(pool)  # type: ignore[arg-type]
            graph = build_graph(OfflineChatModel(), saver, "You are helpful.", RetryPolicy(0, 0.1))
            durability = "sync"
        else:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            graph, durability = _default_graph(saver), "async"
        await saver.setup()
        config = {"configurable": {"thread_id": f"long-{flavour}", "reply_id": None}}
        times: list[float] = []
        raw = 0
        results = []
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for turn in range(1, turns + 1):
                text = f"turn {turn}: " + "the quick brown fox jumps over the lazy dog " * 23
                started = time.perf_counter()
                out = await graph.ainvoke(
                    {"messages": [HumanMessage(text)]}, config, durability=durability
                )
                times.append(time.perf_counter() - started)
                raw += len(text.encode()) + len(str(out["messages"][-1].content).encode())
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
