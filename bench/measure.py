"""One row of the load report: a saturated run against a server, or an engine baseline.

A row counts what the client saw (throughput, latency, token frames a turn) and what the
server spent (CPU a turn, resident memory at the end, database transactions a turn).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

from bench.clients import LoadResult, run_load
from bench.engine import percentile
from bench.processes import cpu_seconds, free_port, process, rss_kb, wait_port
from bench.replicas import transactions

ROOT = Path(__file__).resolve().parent.parent


class Load(NamedTuple):
    """The shape of a saturated run, and how exactly to count transactions."""

    clients: int
    turns: int
    pool: int
    stats_settle: float


def summarize(load: LoadResult, model: dict[str, float]) -> dict[str, Any]:
    """A load's client-side figures; latency overheads are against the model's own time."""
    replies = [t.reply for t in load.timings]
    firsts = [t.first_token for t in load.timings]
    return {
        "turns": len(replies),
        "errors": len(load.errors),
        "error_samples": sorted(set(load.errors))[:5],
        "turns_per_s": len(replies) / load.elapsed if load.elapsed else 0.0,
        "p50_ms": percentile(replies, 50),
        "p99_ms": percentile(replies, 99),
        "server_added_p50_ms": percentile(replies, 50) - model["reply_p50_ms"],
        "server_added_p99_ms": percentile(replies, 99) - model["reply_p50_ms"],
        "ttft_p50_ms": percentile(firsts, 50),
        "ttft_overhead_p50_ms": percentile(firsts, 50) - model["first_token_p50_ms"],
        "ack_p50_ms": percentile([t.ack for t in load.timings], 50),
        "tokens_per_turn": sum(t.tokens for t in load.timings) / max(1, len(replies)),
    }


def saturated(
    url: str, pid: int, database_url: str, shape: Load, model: dict[str, float]
) -> dict[str, Any]:
    """Drive `shape.clients` sockets back to back against the server `pid` listening at `url`."""
    before = asyncio.run(transactions(database_url, shape.stats_settle))
    cpu = cpu_seconds(pid)
    load = asyncio.run(run_load(url, shape.clients, shape.turns))
    spent = cpu_seconds(pid) - cpu
    figures = summarize(load, model)
    turns = figures["turns"] + shape.clients  # and one warm-up each
    figures["server_cpu_ms_per_turn"] = spent * 1000 / turns
    figures["server_rss_kb"] = rss_kb(pid)
    figures["transactions_per_turn"] = (
        asyncio.run(transactions(database_url, shape.stats_settle)) - before
    ) / turns
    return figures


def served(
    defaults: bool,
    database_url: str,
    shape: Load,
    model: dict[str, float],
    groq_base: str | None,
) -> dict[str, Any]:
    """The simplest served chatbot (`bench.served`) in a process of its own, saturated."""
    port = free_port()
    command = [sys.executable, "-m", "bench.served", "--port", str(port)]
    command += ["--database-url", database_url, "--pool", str(shape.pool)]
    command += ["--defaults"] if defaults else []
    command += ["--groq-base", groq_base] if groq_base else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with process(command, env) as server:
        wait_port(port)
        return saturated(f"ws://127.0.0.1:{port}", server.pid, database_url, shape, model)


def engine(mode: str, database_url: str, shape: Load, groq_base: str | None) -> dict[str, Any]:
    """A graph driven directly through LangGraph (`bench.engine`), no transport."""
    command = [sys.executable, "-m", "bench.engine", "--mode", mode, "--database-url", database_url]
    command += ["--clients", str(shape.clients), "--turns", str(shape.turns)]
    command += ["--pool", str(shape.pool)]
    command += ["--groq-base", groq_base] if groq_base else []
    before = asyncio.run(transactions(database_url, shape.stats_settle))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=True, timeout=600, env=env
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    turns = result["turns"] + shape.clients  # its warm-up turns count too: one a client
    result["transactions_per_turn"] = (
        asyncio.run(transactions(database_url, shape.stats_settle)) - before
    ) / turns
    return result
