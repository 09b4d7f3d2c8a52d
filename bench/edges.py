"""The same conversation load through each edge of one Threadline server, side by side.

    uv run python bench/edges.py [--clients 4] [--turns 3] [--rounds 2] [--json PATH]

One embedded PostgreSQL, one `threadline` process (offline model), and in each round the
same load (N new conversations x M turns, concurrently) driven through each edge in turn,
the order rotating from round to round: the WebSocket (`/ws`), the LangGraph API
(`POST /threads/{id}/runs/stream`), AG-UI (`POST /ag-ui`) and the AI SDK
(`POST /ai-sdk/chat`). Prints per edge turns/s, time to first token, server CPU per turn and
the ratio to the WebSocket, and #33's target (each new edge within 10% of the WebSocket's
turns/s) as met or missed. The defaults are a smoke size; a real run:
`--clients 50 --turns 20 --rounds 5`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import LoadResult, run_load
from bench.edge_clients import EDGES
from bench.engine import percentile
from bench.load import _machine, _server_env
from bench.processes import cpu_seconds
from bench.processes import free_port as _free_port
from bench.processes import postgres as _postgres
from bench.processes import process as _process
from bench.processes import raise_file_limit as _raise_file_limit
from bench.processes import wait_http as _wait_http
from bench.report import ms, publish

ORDER = ["websocket", *EDGES]
TARGET = 0.9  # #33: each new edge within 10% of the WebSocket's turns/s


async def _http_load(address: str, edge: str, clients: int, turns: int) -> LoadResult:
    result = LoadResult()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=120, limits=limits) as http:

        async def one(c: int) -> None:
            try:
                await EDGES[edge](http, f"u{c}", uuid.uuid4().hex, turns, result)
            except Exception as error:  # noqa: BLE001 - a benchmark counts errors
                result.errors.append(f"{type(error).__name__}: {error}")

        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(one(c) for c in range(clients)))
        result.elapsed = asyncio.get_running_loop().time() - started
    return result


async def _load(address: str, edge: str, clients: int, turns: int) -> LoadResult:
    if edge == "websocket":
        return await run_load(f"ws://{address}", clients, turns, warmup=0)
    return await _http_load(address, edge, clients, turns)


def _rounds(address: str, pid: int, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every round drives every edge once, in an order rotated by one each round."""
    runs: dict[str, dict[str, Any]] = {
        e: {"results": [], "cpu": 0.0, "client_cpu": 0.0, "rounds": []} for e in ORDER
    }
    for edge in ORDER:  # warm-up, unmeasured: pools, caches, each edge's first import
        asyncio.run(_load(address, edge, min(args.clients, 4), 1))
    for r in range(args.rounds):
        for edge in ORDER[r % len(ORDER) :] + ORDER[: r % len(ORDER)]:
            cpu, mine = cpu_seconds(pid), time.process_time()
            load = asyncio.run(_load(address, edge, args.clients, args.turns))
            runs[edge]["cpu"] += cpu_seconds(pid) - cpu
            runs[edge]["client_cpu"] += time.process_time() - mine
            runs[edge]["results"].append(load)
            rate = len(load.timings) / load.elapsed if load.elapsed else 0.0
            runs[edge]["rounds"].append(round(rate, 1))
    return runs


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    results: list[LoadResult] = run["results"]
    timings = [t for r in results for t in r.timings]
    errors = [e for r in results for e in r.errors]
    elapsed = sum(r.elapsed for r in results)
    firsts, replies = [t.first_token for t in timings], [t.reply for t in timings]
    return {
        "turns": len(timings),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "turns_per_s": len(timings) / elapsed if elapsed else 0.0,
        "turns_per_s_by_round": run["rounds"],
        "ttft_p50_ms": percentile(firsts, 50) if firsts else None,
        "ttft_p99_ms": percentile(firsts, 99) if firsts else None,
        "reply_p50_ms": percentile(replies, 50) if replies else None,
        "cpu_ms_per_turn": 1000 * run["cpu"] / len(timings) if timings else None,
        "client_cpu_ms_per_turn": 1000 * run["client_cpu"] / len(timings) if timings else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the database and the server, drive every edge, return the report."""
    _raise_file_limit()
    report: dict[str, Any] = {"config": vars(args), "machine": _machine(), "edges": {}}
    report["machine"]["loadavg_before"] = os.getloadavg()
    with _postgres() as database_url:
        port = _free_port()
        env = _server_env(database_url, port, args, None)
        with _process([str(Path(sys.executable).with_name("threadline"))], env) as server:
            _wait_http(f"http://127.0.0.1:{port}/ready")
            runs = _rounds(f"127.0.0.1:{port}", server.pid, args)
    report["machine"]["loadavg_after"] = os.getloadavg()
    edges = {edge: _summary(runs[edge]) for edge in ORDER}
    socket = edges["websocket"]
    for edge, row in edges.items():
        row["ratio_to_websocket"] = (
            row["turns_per_s"] / socket["turns_per_s"] if socket["turns_per_s"] else 0.0
        )
        if socket["ttft_p50_ms"] is not None and row["ttft_p50_ms"] is not None:
            row["ttft_added_p50_ms"] = row["ttft_p50_ms"] - socket["ttft_p50_ms"]
        if edge != "websocket":
            row["target_met"] = row["ratio_to_websocket"] >= TARGET
    report["edges"] = edges
    return report


LABELS = {
    "websocket": "WebSocket (/ws)",
    "langgraph_api": "LangGraph API (runs/stream, SSE)",
    "ag_ui": "AG-UI (/ag-ui, SSE)",
    "ai_sdk": "AI SDK (/ai-sdk/chat, SSE)",
}


def render(report: dict[str, Any]) -> str:
    """The report as a Markdown table, then #33's target per edge."""
    lines = [
        "| edge | turns | errors | turns/s | x WebSocket | first token p50 ms "
        "| vs WebSocket ms | reply p50 ms | server CPU ms/turn | client CPU ms/turn |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for edge, row in report["edges"].items():
        lines.append(
            f"| {LABELS[edge]} | {row['turns']} | {row['errors']} | {row['turns_per_s']:.1f} "
            f"| {row['ratio_to_websocket']:.2f} | {ms(row['ttft_p50_ms'])} "
            f"| {ms(row.get('ttft_added_p50_ms'))} | {ms(row['reply_p50_ms'])} "
            f"| {ms(row['cpu_ms_per_turn'])} | {ms(row['client_cpu_ms_per_turn'])} |"
        )
    lines.append("")
    for edge, row in report["edges"].items():
        if edge != "websocket":
            verdict = "met" if row["target_met"] else "missed"
            lines.append(
                f"target: {LABELS[edge]} within 10% of the WebSocket's turns/s "
                f"({row['ratio_to_websocket']:.2f}x): {verdict}"
            )
    load = report["machine"]
    lines.append(f"load average before {load['loadavg_before']}, after {load['loadavg_after']}")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent conversations")
    parser.add_argument("--turns", type=int, default=3, help="turns per conversation")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over every edge")
    parser.add_argument("--pool", type=int, default=20, help="the server's database pool size")
    parser.add_argument("--json", type=Path, help="where to write the report")
    args = parser.parse_args()
    report = run(args)
    publish(report, render(report), args.json, "edges")


if __name__ == "__main__":
    main()
