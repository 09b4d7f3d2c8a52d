"""Load harness: Threadline over real sockets against the bare engine and LangGraph defaults.

    uv run python bench/load.py [--clients 50] [--turns 20] [--model offline|fake] [--idle 5000]
                                [--servers N]

Starts an embedded PostgreSQL, the fake Groq API (with `--model fake`) and the `threadline`
server as separate processes on 127.0.0.1, drives the load from this process, runs both
baselines on the same database, opens idle sockets, then prints a table and writes JSON.
Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import hold_idle_sockets, run_load
from bench.engine import percentile
from bench.model_time import direct_model_timings
from bench.replicas import scaling, transactions
from threadline.storage.database import start_embedded_postgres

RESULTS = Path(__file__).parent / "results"
# Report key -> bench.engine mode: the simplest chatbot (tuned, then LangGraph's defaults),
# then Threadline's own graph driven the same two ways.
_BASELINES = {
    "simple_engine": "simple",
    "simple_defaults": "simple-defaults",
    "bare_engine": "bare",
    "langgraph_defaults": "defaults",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _raise_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(args, env=env, preexec_fn=_raise_file_limit)  # noqa: S603, PLW1509
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _postgres() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        server.psql("ALTER SYSTEM SET max_connections = 300;")
        server.cleanup()  # restart so max_connections takes effect
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _baseline(
    mode: str, database_url: str, args: argparse.Namespace, groq_base: str | None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.engine", "--mode", mode, "--database-url", database_url]
    command += [
        "--clients",
        str(args.clients),
        "--turns",
        str(args.turns),
        "--pool",
        str(args.pool),
    ]
    if groq_base:
        command += ["--groq-base", groq_base]
    before = asyncio.run(transactions(database_url, args.stats_settle))
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)  # noqa: S603
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # Its warm-up turns count too: one a client.
    turns = result["turns"] + args.clients
    result["transactions_per_turn"] = (
        asyncio.run(transactions(database_url, args.stats_settle)) - before
    ) / turns
    return result


def _summarize(load: Any, model: dict[str, float]) -> dict[str, Any]:
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
    }


async def _idle(url: str, pid: int, count: int) -> dict[str, Any]:
    before = _rss_kb(pid)
    sockets = await hold_idle_sockets(url, count)
    await asyncio.sleep(1)
    after = _rss_kb(pid)
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement and return the report."""
    _raise_file_limit()
    report: dict[str, Any] = {"config": vars(args), "machine": _machine()}
    with _postgres() as database_url, _fake(args) as groq_base:
        port = _free_port()
        env = _server_env(database_url, port, args, groq_base)
        with _process([str(Path(sys.executable).with_name("threadline"))], env) as server:
            _wait_http(f"http://127.0.0.1:{port}/ready")
            url = f"ws://127.0.0.1:{port}"
            model = asyncio.run(direct_model_timings(groq_base))
            report["model_direct"] = model
            # Paced first: right after a saturating burst, PostgreSQL is still vacuuming and
            # flushing what the burst wrote, and that, not the paced turns, would set the p99.
            if args.think:
                paced = run_load(url, args.clients, args.paced_turns, warmup=0, think=args.think)
                report["threadline_paced"] = _summarize(asyncio.run(paced), model)
                named = run_load(
                    url, args.clients, args.paced_turns, warmup=0, think=args.think, named=True
                )
                report["threadline_paced_named"] = _summarize(asyncio.run(named), model)
            before = asyncio.run(transactions(database_url, args.stats_settle))
            saturated = asyncio.run(run_load(url, args.clients, args.turns))
            report["threadline"] = _summarize(saturated, model)
            turns = report["threadline"]["turns"] + args.clients  # and one warm-up each
            report["threadline"]["transactions_per_turn"] = (
                asyncio.run(transactions(database_url, args.stats_settle)) - before
            ) / turns
            if args.idle:
                report["idle"] = asyncio.run(_idle(url, server.pid, args.idle))
        if not args.no_baselines:
            for key, mode in _BASELINES.items():
                report[key] = _baseline(mode, database_url, args, groq_base)
        if args.servers > 1:
            report["replicas"] = scaling(
                args.servers,
                database_url,
                lambda: _server_env(database_url, _free_port(), args, groq_base),
                _process,
                _wait_http,
                (args.clients, args.turns, args.stats_settle),
            )
    return report


@contextmanager
def _fake(args: argparse.Namespace) -> Iterator[str | None]:
    if args.model != "fake":
        yield None
        return
    port = _free_port()
    with _process([sys.executable, "-m", "bench.fake_server", str(port)], dict(os.environ)):
        _wait_http(f"http://127.0.0.1:{port}/", timeout=30)
        yield f"http://127.0.0.1:{port}"


def _machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
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
    RESULTS.mkdir(exist_ok=True)
    path = args.json or RESULTS / f"load-{args.model}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    from bench.report import render  # noqa: PLC0415

    print(render(report))
    print(f"\nreport written to {path}")


if __name__ == "__main__":
    main()
