"""Rounds of new conversations on one server process (`--rounds N`): does a turn get dearer?

Threadline and the simplest served chatbot (tuned) each run in one process all along;
round after round, interleaved, each gets `--round-clients` new users, each user a new
conversation of `--round-turns` turns back to back. After each round: the server's CPU
per turn in that round and its resident memory. A cost that grows with the number of
conversations a process has served shows as the last rounds' CPU per turn above the
first's, or memory that keeps climbing, where the chatbot's stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.clients import run_load
from bench.measure import ROOT
from bench.processes import cpu_seconds, free_port, process, rss_kb, wait_http, wait_port

THREADLINE_FLAT = 1.10  # last round's CPU a turn over the first's, at most


def _round(url: str, pid: int, index: int, args: argparse.Namespace) -> dict[str, Any]:
    cpu = cpu_seconds(pid)
    load = asyncio.run(
        run_load(url, args.round_clients, args.round_turns, warmup=0, users=f"r{index}-")
    )
    turns = len(load.timings)
    return {
        "round": index + 1,
        "turns": turns,
        "errors": len(load.errors),
        "turns_per_s": turns / load.elapsed if load.elapsed else 0.0,
        "cpu_ms_per_turn": (cpu_seconds(pid) - cpu) * 1000 / max(1, turns),
        "rss_kb": rss_kb(pid),
    }


def rounds(
    env_for: Callable[[int], dict[str, str]], database_url: str, args: argparse.Namespace
) -> dict[str, list[dict[str, Any]]]:
    """Run `args.rounds` interleaved rounds on one Threadline and one served chatbot.

    Args:
        env_for: Threadline's environment for a server listening on the given port.
        database_url: The database both use.
        args: The bench's arguments (`rounds`, `round_clients`, `round_turns`, `pool`).

    Returns:
        Each server's rounds, in order.
    """
    with ExitStack() as stack:
        port = free_port()
        threadline = stack.enter_context(
            process([str(Path(sys.executable).with_name("threadline"))], env_for(port))
        )
        wait_http(f"http://127.0.0.1:{port}/ready")
        chatbot_port = free_port()
        command = [sys.executable, "-m", "bench.served", "--port", str(chatbot_port)]
        command += ["--database-url", database_url, "--pool", str(args.pool)]
        chatbot = stack.enter_context(process(command, {**os.environ, "PYTHONPATH": str(ROOT)}))
        wait_port(chatbot_port)
        servers = {
            "threadline": (f"ws://127.0.0.1:{port}", threadline.pid),
            "served_tuned": (f"ws://127.0.0.1:{chatbot_port}", chatbot.pid),
        }
        for url, _ in servers.values():  # pools filled, code paths warm: not measured
            asyncio.run(run_load(url, args.round_clients, 1, warmup=0, users="warm"))
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        for index in range(args.rounds):
            for name, (url, pid) in servers.items():
                measured[name].append(_round(url, pid, index, args))
    return measured
