"""Where one edge's server CPU goes: the server under cProfile, one edge's load, the top rows.

    uv run python bench/edge_profile.py --edge ai_sdk [--clients 20] [--turns 10] [--top 40]

One embedded PostgreSQL and one `threadline` process started under `cProfile`; a warm-up of
every edge, then the same load as `bench/edges.py` through one edge (`websocket`,
`langgraph_api`, `ag_ui` or `ai_sdk`) only, with the server's event loop profiled during
that load alone (SIGUSR1 starts the profiler, SIGUSR2 stops it and writes the profile).
Compare edges by a function's time per turn (cumulative seconds / turns): cProfile slows
the server several times over, so only the proportions mean anything. Prints the top
functions by cumulative and by own time, and writes the raw profile (`.prof`, for `pstats`)
under `bench/results/`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import pstats
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.edges import ORDER, _load
from bench.load import _server_env
from bench.processes import free_port, postgres, process, raise_file_limit, wait_http
from bench.report import RESULTS

# The server, its main thread (the event loop) profiled between SIGUSR1 and SIGUSR2 only:
# the measured load, not the start-up's imports nor the warm-up.
_SERVE = """
import cProfile, signal, sys
from threadline import main

profiler = cProfile.Profile()

def _stop(*_):
    profiler.disable()
    profiler.dump_stats(sys.argv[1])

signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
signal.signal(signal.SIGUSR2, _stop)
main(["serve"])
"""


def profile(args: argparse.Namespace) -> Path:
    """Run the server under cProfile through one edge's load; the profile's path."""
    raise_file_limit()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-{args.edge}-{datetime.now(UTC):%Y%m%dT%H%M%S}.prof"
    with postgres() as database_url:
        port = free_port()
        env = _server_env(database_url, port, args, None)
        command = [sys.executable, "-c", _SERVE, str(out)]
        with process(command, env) as server:
            wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
            address = f"127.0.0.1:{port}"
            for edge in ORDER:  # the same warm-up as bench/edges.py
                asyncio.run(_load(address, edge, min(args.clients, 4), 1))
            server.send_signal(signal.SIGUSR1)
            load = asyncio.run(_load(address, args.edge, args.clients, args.turns))
            server.send_signal(signal.SIGUSR2)
            _wait_file(out)
    turns = len(load.timings)
    print(f"{args.edge}: {turns} turns, {len(load.errors)} errors, {load.elapsed:.1f} s")
    stats = pstats.Stats(str(out))
    print(f"profiled CPU: {1000 * stats.total_tt / max(turns, 1):.2f} ms a turn (under cProfile)")
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(str(out), stream=text).sort_stats(order).print_stats(args.top)
        print(text.getvalue())
    return out


def _wait_file(path: Path, timeout: float = 30) -> None:
    """Wait until the server has written the profile."""
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size == 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no profile written to {path}")
        time.sleep(0.2)
    time.sleep(0.5)  # let the write finish


def main() -> None:
    """Parse the arguments, profile, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edge", choices=ORDER, default="ai_sdk")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--pool", type=int, default=20, help="the server's database pool size")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    print(f"profile written to {profile(args)}")


if __name__ == "__main__":
    main()
