"""Load harness: Threadline over real sockets against the simplest served chatbot.

    uv run python bench/load.py [--clients 50] [--turns 20] [--model offline|fake] [--idle 5000]
                                [--servers N] [--workers N] [--rounds N]

Starts an embedded PostgreSQL, the fake Groq API (with `--model fake`) and the `threadline`
server as separate processes on 127.0.0.1, drives the load from this process, then the
same load against the simplest served chatbot (`bench/served.py`, tuned and on
LangGraph's defaults), runs the engine baselines on the same database, opens idle
sockets, then prints a table with every target met or missed and writes JSON.
Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import hold_idle_sockets, run_load
from bench.engine import percentile
from bench.measure import Load, engine, saturated, served, summarize
from bench.model_time import direct_model_timings
from bench.processes import (
    free_port,
    postgres,
    process,
    raise_file_limit,
    rss_kb,
    wait_http,
)
from bench.replicas import scaling
from bench.report import publish, render
from bench.rounds import rounds

THREADLINE = str(Path(sys.executable).with_name("threadline"))
# Report key -> bench.engine mode: the simplest chatbot driven with no transport (tuned,
# then LangGraph's defaults), then Threadline's own graph driven the same two ways.
_BASELINES = {
    "simple_engine": "simple",
    "simple_defaults": "simple-defaults",
    "bare_engine": "bare",
    "langgraph_defaults": "defaults",
}


async def _idle(url: str, pid: int, count: int) -> dict[str, Any]:
    before = rss_kb(pid)
    sockets = await hold_idle_sockets(url, count)
    await asyncio.sleep(1)
    after = rss_kb(pid)
    probe = await run_load(url, clients=1, turns=3, warmup=0)
    for ws in sockets:
        await ws.close()
    return {
        "sockets": len(sockets),
        "rss_before_kb": before,
        "rss_after_kb": after,
        "kb_per_socket": (after - before) / max(1, len(sockets)),
        "turn_while_idle_ok": not probe.errors and len(probe.timings) == 3,
        "turn_while_idle_p50_ms": percentile([t.reply for t in probe.timings], 50)
        if probe.timings
        else None,
    }


def _server_env(
    database_url: str, port: int, args: argparse.Namespace, groq_base: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "DATABASE_"))}
    env.update(DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="WARNING")
    env.update(DB_POOL_MAX_SIZE=str(args.pool), DB_POOL_MIN_SIZE=str(min(args.pool, 10)))
    if groq_base:
        env.update(GROQ_API_KEY="gsk_bench", GROQ_API_BASE=groq_base)
    return env


def _threadline(
    report: dict[str, Any], database_url: str, args: argparse.Namespace, groq_base: str | None
) -> None:
    """Threadline paced, then saturated, then holding idle sockets: one server process."""
    shape = _shape(args)
    port = free_port()
    with process([THREADLINE], _server_env(database_url, port, args, groq_base)) as server:
        wait_http(f"http://127.0.0.1:{port}/ready")
        url = f"ws://127.0.0.1:{port}"
        model = report["model_direct"] = asyncio.run(direct_model_timings(groq_base))
        # Paced first: right after a saturating burst, PostgreSQL is still vacuuming and
        # flushing what the burst wrote, and that, not the paced turns, would set the p99.
        if args.think:
            paced = run_load(url, args.clients, args.paced_turns, warmup=0, think=args.think)
            report["threadline_paced"] = summarize(asyncio.run(paced), model)
            named = run_load(
                url, args.clients, args.paced_turns, warmup=0, think=args.think, named=True
            )
            report["threadline_paced_named"] = summarize(asyncio.run(named), model)
        report["threadline"] = saturated(url, server.pid, database_url, shape, model)
        if args.idle:
            report["idle"] = asyncio.run(_idle(url, server.pid, args.idle))


def _workers(
    database_url: str, args: argparse.Namespace, model: dict[str, float], groq_base: str | None
) -> dict[str, Any]:
    """Threadline with `--workers` worker processes, saturated the same way."""
    port = free_port()
    env = _server_env(database_url, port, args, groq_base)
    env["WORKERS"] = str(args.workers)
    with process([THREADLINE], env) as server:
        wait_http(f"http://127.0.0.1:{port}/ready")
        figures = saturated(f"ws://127.0.0.1:{port}", server.pid, database_url, _shape(args), model)
    return {"workers": args.workers, **figures}


def _shape(args: argparse.Namespace) -> Load:
    return Load(args.clients, args.turns, args.pool, args.stats_settle)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement and return the report."""
    raise_file_limit()
    report: dict[str, Any] = {"config": vars(args), "machine": _machine()}
    with postgres() as database_url, _fake(args) as groq_base:
        _threadline(report, database_url, args, groq_base)
        model = report["model_direct"]
        for key, defaults in (("served_tuned", False), ("served_defaults", True)):
            report[key] = served(defaults, database_url, _shape(args), model, groq_base)
        if args.workers > 1:
            report["threadline_workers"] = _workers(database_url, args, model, groq_base)
        if not args.no_baselines:
            for key, mode in _BASELINES.items():
                report[key] = engine(mode, database_url, _shape(args), groq_base)
        if args.servers > 1:
            report["replicas"] = scaling(
                args.servers,
                database_url,
                lambda: _server_env(database_url, free_port(), args, groq_base),
                process,
                wait_http,
                (args.clients, args.turns, args.stats_settle),
            )
        if args.rounds:
            report["rounds"] = rounds(
                lambda port: _server_env(database_url, port, args, groq_base), database_url, args
            )
    return report


@contextmanager
def _fake(args: argparse.Namespace) -> Iterator[str | None]:
    if args.model != "fake":
        yield None
        return
    port = free_port()
    with process([sys.executable, "-m", "bench.fake_server", str(port)], dict(os.environ)):
        wait_http(f"http://127.0.0.1:{port}/", timeout=30)
        yield f"http://127.0.0.1:{port}"


def _machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # What else the machine was doing: its load averages as the run started.
        "loadavg": Path("/proc/loadavg").read_text().strip(),
    }


def main() -> None:
    """Parse arguments, run, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent sockets (default 50)")
    parser.add_argument(
        "--turns", type=int, default=20, help="measured turns per socket (default 20)"
    )
    parser.add_argument("--model", choices=["offline", "fake"], default="offline")
    parser.add_argument("--idle", type=int, default=5000, help="idle sockets to hold (0: skip)")
    parser.add_argument("--pool", type=int, default=20, help="database pool size, everywhere")
    parser.add_argument(
        "--think", type=float, default=2.0, help="mean pause before each turn when paced (0: skip)"
    )
    parser.add_argument("--paced-turns", type=int, default=10, help="turns per client when paced")
    parser.add_argument("--no-baselines", action="store_true", help="skip the engine baselines")
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="also spread the load over 1..N server processes on one database (default 1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="also run Threadline with this many worker processes (WORKERS), same load",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="also run this many rounds of new conversations on one server (0: skip)",
    )
    parser.add_argument("--round-clients", type=int, default=50, help="new users per round")
    parser.add_argument("--round-turns", type=int, default=20, help="turns per conversation")
    parser.add_argument("--json", type=Path, help="where to write the report")
    parser.add_argument(
        "--stats-settle",
        type=float,
        default=11,
        help="seconds to let PostgreSQL's statistics settle before each transaction count "
        "(default 11: exact; less: quicker, rough)",
    )
    args = parser.parse_args()
    report = run(args)
    publish(report, render(report), args.json, f"load-{args.model}")


if __name__ == "__main__":
    main()
