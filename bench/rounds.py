"""Rounds of new conversations on one server process (`--rounds N`): does a turn get dearer?

    uv run python -m bench.rounds [--rounds 10] [--round-clients 50] [--round-turns 20]
                                  [--probe] [--no-chatbot]

(or `bench/load.py --rounds N`, after its other rows).

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
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.clients import run_load
from bench.measure import ROOT
from bench.processes import (
    cpu_seconds,
    free_port,
    postgres,
    process,
    raise_file_limit,
    rss_kb,
    wait_http,
    wait_port,
)

THREADLINE_FLAT = 1.10  # last round's CPU a turn over the first's, at most


def _probe_out(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"threadline-probe-{port}.json"


def _round(url: str, pid: int, users: str, args: argparse.Namespace) -> dict[str, Any]:
    cpu = cpu_seconds(pid)
    load = asyncio.run(run_load(url, args.round_clients, args.round_turns, warmup=0, users=users))
    turns = len(load.timings)
    return {
        "turns": turns,
        "errors": len(load.errors),
        "turns_per_s": turns / load.elapsed if load.elapsed else 0.0,
        "cpu_ms_per_turn": (cpu_seconds(pid) - cpu) * 1000 / max(1, turns),
        "rss_kb": rss_kb(pid),
    }


def _probe(url: str, pid: int) -> dict[str, Any]:
    """What `bench.probe_server` says of its heap now (full collections since the last)."""
    out = _probe_out(int(url.rsplit(":", 1)[1]))
    out.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    found: dict[str, Any] = json.loads(out.read_text())
    return found


def _command(args: argparse.Namespace) -> list[str]:
    if getattr(args, "probe", False):
        return [sys.executable, "-m", "bench.probe_server"]
    return [str(Path(sys.executable).with_name("threadline"))]


def _threadline(stack: ExitStack, env: dict[str, str], args: argparse.Namespace) -> tuple[str, int]:
    """A Threadline server started in `stack`: its URL and process id."""
    port = int(env["PORT"])
    env = {**env, "PROBE_OUT": str(_probe_out(port)), "PYTHONPATH": str(ROOT)}
    server = stack.enter_context(process(_command(args), env))
    wait_http(f"http://127.0.0.1:{port}/ready", timeout=600)  # tracemalloc: slow start
    return f"ws://127.0.0.1:{port}", server.pid


def _servers(
    stack: ExitStack,
    env_for: Callable[[int], dict[str, str]],
    database_url: str,
    args: argparse.Namespace,
) -> dict[str, tuple[str, int]]:
    servers = {"threadline": _threadline(stack, env_for(free_port()), args)}
    if alternative := getattr(args, "compare_env", None):  # the same with a setting changed
        changed = dict(setting.split("=", 1) for setting in alternative)
        servers["threadline " + " ".join(alternative)] = _threadline(
            stack, {**env_for(free_port()), **changed}, args
        )
    if not getattr(args, "no_chatbot", False):
        port = free_port()
        command = [sys.executable, "-m", "bench.served", "--port", str(port)]
        command += ["--database-url", database_url, "--pool", str(args.pool)]
        chatbot = stack.enter_context(process(command, {**os.environ, "PYTHONPATH": str(ROOT)}))
        wait_port(port)
        servers["served_tuned"] = (f"ws://127.0.0.1:{port}", chatbot.pid)
    return servers


def rounds(
    env_for: Callable[[int], dict[str, str]], database_url: str, args: argparse.Namespace
) -> dict[str, list[dict[str, Any]]]:
    """Run `args.rounds` interleaved rounds on one Threadline and one served chatbot.

    Args:
        env_for: Threadline's environment for a server listening on the given port.
        database_url: The database both use.
        args: The bench's arguments (`rounds`, `round_clients`, `round_turns`, `pool`;
            from `python -m bench.rounds`, `probe`, `no_chatbot` and `compare_env` too).

    Returns:
        Each server's rounds, in order.
    """
    probing = getattr(args, "probe", False)
    with ExitStack() as stack:
        servers = _servers(stack, env_for, database_url, args)
        for url, _ in servers.values():  # pools filled, code paths warm: not measured
            asyncio.run(run_load(url, args.round_clients, 1, warmup=0, users="warm"))
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        for name, (url, pid) in servers.items():
            if probing and name.startswith("threadline"):
                _probe(url, pid)  # the warm-up's collections are not counted
        for index in range(args.rounds):
            for n, (name, (url, pid)) in enumerate(servers.items()):
                figures = _round(url, pid, f"s{n}r{index}-", args)
                measured[name].append({"round": index + 1, **figures})
                if probing and name.startswith("threadline"):
                    measured[name][-1]["probe"] = _probe(url, pid)
    return measured


def _print(measured: dict[str, list[dict[str, Any]]]) -> None:
    for name, each in measured.items():
        print(f"{name}: CPU ms/turn " + ", ".join(f"{r['cpu_ms_per_turn']:.2f}" for r in each))
        print(f"{name}: RSS MB " + ", ".join(f"{r['rss_kb'] / 1024:.0f}" for r in each))
        for number, r in enumerate(each, 1):
            if probe := r.get("probe"):
                print(f"  round {number}: {_probed(probe, r['turns'])}")


def _probed(probe: dict[str, Any], turns: int) -> str:
    """One round of `bench.probe_server`'s report, in a line."""
    young = probe.get("collections", [0])[0] * probe.get("threshold", 0)
    return (
        f"{probe['full_collections']} full collections, median "
        f"{probe['full_ms_median']:.1f} ms, total {probe['full_ms_total']:.0f} ms (CPU "
        f"{probe['full_cpu_ms_total']:.0f} ms); ~{young / max(1, turns):.0f} tracked "
        f"objects allocated a turn; {probe['tracked']} tracked; top {probe['types'][:5]}"
    )


def main() -> None:
    """Only the rounds, on an embedded PostgreSQL: quicker than the whole `bench/load.py`."""
    from bench.load import _server_env  # noqa: PLC0415 - load.py imports this module

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--round-clients", type=int, default=50, help="new users per round")
    parser.add_argument("--round-turns", type=int, default=20, help="turns per conversation")
    parser.add_argument("--pool", type=int, default=20, help="database pool size")
    parser.add_argument("--probe", action="store_true", help="count full collections, objects")
    parser.add_argument("--no-chatbot", action="store_true", help="Threadline's rounds only")
    parser.add_argument(
        "--compare-env",
        nargs="+",
        metavar="NAME=VALUE",
        help="also a second Threadline with these settings, interleaved (a lever's effect)",
    )
    parser.add_argument("--json", type=Path, help="where to write the rounds")
    args = parser.parse_args()
    raise_file_limit()
    with postgres() as database_url:
        measured = rounds(
            lambda port: _server_env(database_url, port, args, None), database_url, args
        )
    if args.json:
        args.json.write_text(json.dumps(measured, indent=2))
    _print(measured)


if __name__ == "__main__":
    main()
