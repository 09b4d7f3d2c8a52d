"""The same conversation load, through `langgraph-sdk`, against LangGraph API servers side by side.

    uv run python bench/langgraph_servers.py [--clients 4] [--turns 3] [--rounds 2]
                                             [--servers threadline,langgraph-dev,aegra]

Each server serves the same one-node graph (`bench/same_graph/langgraph.json`, a model that
streams its reply word by word and needs no key) on this machine, in one run: Threadline
(`LANGGRAPH_CONFIG`, on an embedded PostgreSQL), `langgraph dev` (`langgraph-cli[inmem]`,
in memory) and Aegra (`aegra-api`, on the same embedded PostgreSQL, its own database). The
last two run from PyPI in their own environments (`uv tool run`), never the project's.
Each round drives every server once (N new threads x M turns, concurrently), the order
rotating; prints turns/s, time to first token and server CPU per turn per server. A server
that cannot start is reported with why, and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph_sdk import get_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clients import MESSAGE, LoadResult, TurnTiming
from bench.engine import percentile
from bench.load import _machine
from bench.other_servers import aegra_database, system_postgres
from bench.processes import cpu_seconds
from bench.processes import free_port as _free_port
from bench.processes import postgres as _postgres
from bench.processes import raise_file_limit as _raise_file_limit
from bench.processes import wait_http as _wait_http
from bench.report import RESULTS, ms, publish

GRAPH = Path(__file__).resolve().parent / "same_graph" / "langgraph.json"
SERVERS = ("threadline", "langgraph-dev", "aegra")
LANGGRAPH_CLI = "langgraph-cli[inmem]"


@dataclass
class Server:
    """A started server: its name, address, process and what its CPU counts from."""

    name: str
    url: str
    process: subprocess.Popen[bytes]


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "DATABASE_"))}
    keep.pop("VIRTUAL_ENV", None)
    return {**keep, "LANGSMITH_TRACING": "false", **extra}


def _command(name: str, port: int, config: Path, args: argparse.Namespace) -> tuple[list[str], str]:
    """The command that serves the graph, and the path that answers once it is up."""
    if name == "threadline":
        return [str(Path(sys.executable).with_name("threadline"))], "/ready"
    if name == "langgraph-dev":
        command = ["uv", "tool", "run", "--from", LANGGRAPH_CLI, "langgraph", "dev"]
        command += ["--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--config", str(config), "--n-jobs-per-worker", str(max(10, args.clients))]
        return command, "/ok"
    # aegra-api 0.6 needs greenlet (SQLAlchemy asyncio) and does not declare it.
    command = ["uv", "tool", "run", "--from", "aegra-api", "--with", "greenlet"]
    return [*command, "python", "-m", "aegra_api.main"], "/ok"


@contextmanager
def _serve(name: str, database_url: str, args: argparse.Namespace) -> Iterator[Server]:
    port = _free_port()
    # A fresh folder holding the graph: `langgraph dev` reads the graph's path from where it
    # runs (not from its langgraph.json) and keeps its in-memory state in files there.
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    shutil.copytree(GRAPH.parent, workdir, dirs_exist_ok=True)
    config = workdir / GRAPH.name
    command, ready = _command(name, port, config, args)
    env = _env(HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="WARNING")
    if name == "threadline":
        env.update(DATABASE_URL=database_url, LANGGRAPH_CONFIG=str(config))
    elif name == "aegra":
        env.update(DATABASE_URL=aegra_database(database_url), AEGRA_CONFIG=str(config))
    log = (RESULTS / f"{name}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own fixed commands
        command,
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_raise_file_limit,  # noqa: PLW1509
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}{ready}", timeout=args.start_timeout)
        yield Server(name, f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


async def _conversation(url: str, user: str, turns: int, result: LoadResult) -> None:
    client = get_client(url=url, headers={"X-Threadline-User": user}, timeout=120)
    try:
        thread = await client.threads.create()
        for n in range(turns):
            message: Any = {"messages": [{"type": "human", "content": MESSAGE.format(n=n)}]}
            started = time.perf_counter()
            first = 0.0
            async for part in client.runs.stream(
                thread["thread_id"],
                "chat",
                input=message,
                stream_mode="messages-tuple",
            ):
                if part.event == "error":
                    raise RuntimeError(str(part.data)[:200])
                if not first and part.event.startswith("messages") and _has_text(part.data):
                    first = time.perf_counter() - started
            done = time.perf_counter() - started
            result.timings.append(TurnTiming(first or done, first or done, done))
    except Exception as error:  # noqa: BLE001 - a benchmark counts errors
        result.errors.append(f"{type(error).__name__}: {error}")
    finally:
        await client.aclose()


def _has_text(data: Any) -> bool:
    chunk = data[0] if isinstance(data, list) and data else data
    return isinstance(chunk, dict) and bool(chunk.get("content"))


async def _load(url: str, clients: int, turns: int) -> LoadResult:
    result = LoadResult()
    started = time.perf_counter()
    await asyncio.gather(*(_conversation(url, f"u{c}", turns, result) for c in range(clients)))
    result.elapsed = time.perf_counter() - started
    return result


def _start(stack: ExitStack, name: str, database_url: str, args: argparse.Namespace) -> Server:
    """Start one server; on failure, raise with the end of its log (what it said)."""
    try:
        return stack.enter_context(_serve(name, database_url, args))
    except Exception as error:
        said = (RESULTS / f"{name}.log").read_text(errors="replace").strip().splitlines()
        raise RuntimeError(f"{error}; its last lines: {' | '.join(said[-6:])}") from error


def _aegra_postgres(stack: ExitStack, embedded: str, report: dict[str, Any]) -> str:
    """Aegra's PostgreSQL: the system's (a throwaway cluster) if it starts, else the embedded."""
    try:
        url = stack.enter_context(system_postgres())
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        report["aegra_database"] = f"the embedded PostgreSQL (no system one: {error})"
        return embedded
    report["aegra_database"] = "a throwaway cluster of the system PostgreSQL (uuid-ossp)"
    return url


def _rounds(servers: list[Server], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {s.name: {"results": [], "cpu": 0.0} for s in servers}
    for server in servers:  # warm-up, unmeasured
        asyncio.run(_load(server.url, min(args.clients, 4), 1))
    for r in range(args.rounds):
        for server in servers[r % len(servers) :] + servers[: r % len(servers)]:
            cpu = cpu_seconds(server.process.pid)
            load = asyncio.run(_load(server.url, args.clients, args.turns))
            runs[server.name]["cpu"] += cpu_seconds(server.process.pid) - cpu
            runs[server.name]["results"].append(load)
    return runs


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    results: list[LoadResult] = run["results"]
    timings = [t for r in results for t in r.timings]
    errors = [e for r in results for e in r.errors]
    elapsed = sum(r.elapsed for r in results)
    firsts = [t.first_token for t in timings]
    return {
        "turns": len(timings),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "turns_per_s": len(timings) / elapsed if elapsed else 0.0,
        "turns_per_s_by_round": [
            round(len(r.timings) / r.elapsed, 1) if r.elapsed else 0.0 for r in results
        ],
        "ttft_p50_ms": percentile(firsts, 50) if firsts else None,
        "ttft_p99_ms": percentile(firsts, 99) if firsts else None,
        "reply_p50_ms": percentile([t.reply for t in timings], 50) if timings else None,
        "cpu_ms_per_turn": 1000 * run["cpu"] / len(timings) if timings else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start every server that can start, drive them in interleaved rounds, return the report."""
    _raise_file_limit()
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {"config": vars(args), "machine": _machine(), "servers": {}}
    report["machine"]["loadavg_before"] = os.getloadavg()
    not_run: dict[str, str] = {}
    with _postgres() as database_url, ExitStack() as stack:
        servers: list[Server] = []
        for name in args.servers.split(","):
            try:
                url = _aegra_postgres(stack, database_url, report) if name == "aegra" else None
                servers.append(_start(stack, name, url or database_url, args))
            except Exception as error:  # noqa: BLE001 - reported, the others still run
                not_run[name] = str(error)
        runs = _rounds(servers, args) if servers else {}
    report["machine"]["loadavg_after"] = os.getloadavg()
    report["servers"] = {name: _summary(run) for name, run in runs.items()}
    report["not_run"] = not_run
    return report


def render(report: dict[str, Any]) -> str:
    """The report as a Markdown table, then what could not run and why."""
    lines = [
        "| server | turns | errors | turns/s | first token p50 ms | reply p50 ms "
        "| server CPU ms/turn |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in report["servers"].items():
        lines.append(
            f"| {name} | {row['turns']} | {row['errors']} | {row['turns_per_s']:.1f} "
            f"| {ms(row['ttft_p50_ms'])} | {ms(row['reply_p50_ms'])} "
            f"| {ms(row['cpu_ms_per_turn'])} |"
        )
    lines.extend(f"not run: {name}: {why}" for name, why in report["not_run"].items())
    load = report["machine"]
    lines.append(f"load average before {load['loadavg_before']}, after {load['loadavg_after']}")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent threads")
    parser.add_argument("--turns", type=int, default=3, help="turns per thread")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over every server")
    parser.add_argument("--servers", default=",".join(SERVERS), help="which, comma-separated")
    parser.add_argument(
        "--start-timeout", type=float, default=300, help="seconds a server may take to start"
    )
    parser.add_argument("--json", type=Path, help="where to write the report")
    args = parser.parse_args()
    report = run(args)
    publish(report, render(report), args.json, "langgraph-servers")


if __name__ == "__main__":
    main()
