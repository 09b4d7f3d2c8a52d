"""Threadline's server with a probe, for the bench only: what the heap holds, on request.

    PROBE_OUT=/tmp/probe.json python -m bench.probe_server   # then: kill -USR1 <pid>

Runs `threadline serve` (the same settings, from the environment) in this process, with
`gc.callbacks` timing every full collection. On SIGUSR1 it writes, to `PROBE_OUT`, the
full collections since the previous report (count, total and median ms), the objects the
garbage collector tracks (by type, the most common), and with `PROBE_TRACEMALLOC=1` the
lines that allocated the most still-live memory since start-up. Nothing here ships in
`src/`; the bench's `--probe` runs the server this way. `PROBE_NO_FREEZE=1` skips what the
server does to its garbage collection after start-up (`gc.freeze()`, the thresholds);
`PROBE_GC_THRESHOLD=700,10,10` sets `gc.set_threshold` after that (compare either with
`--compare-env`).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import statistics
import time
import tracemalloc
from collections import Counter, deque
from pathlib import Path
from types import FrameType
from typing import Any

_full: list[float] = []  # ms of each full collection since the last report
_cpu: list[float] = []  # and the CPU ms of this thread in it
_collected: list[int] = []  # and the objects it freed
_started: list[float] = []
_SIZED = (dict, list, set, tuple, deque)
_generations = [0, 0, 0]  # collections of each generation at the last report


def _timing(phase: str, info: dict[str, Any]) -> None:
    if info.get("generation") != 2:  # the oldest generation: a full collection
        return
    if phase == "start":
        _started[:] = [time.perf_counter(), time.thread_time()]
    elif _started:
        _full.append((time.perf_counter() - _started[0]) * 1000)
        _cpu.append((time.thread_time() - _started[1]) * 1000)
        _collected.append(info.get("collected", 0))


def _report(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - a signal handler
    kinds = Counter(type(o).__qualname__ for o in gc.get_objects())
    biggest = sorted(
        ((len(o), type(o).__qualname__) for o in gc.get_objects() if isinstance(o, _SIZED)),
        reverse=True,
    )[:5]
    walk = []  # a full collection now, twice: the second has no garbage left to free
    for _ in range(2):
        started = time.thread_time()
        gc.collect()
        walk.append((time.thread_time() - started) * 1000)
    counts = [generation["collections"] for generation in gc.get_stats()]
    collections = [now - then for now, then in zip(counts, _generations, strict=True)]
    _generations[:] = counts
    report: dict[str, Any] = {
        "full_collections": len(_full),
        "full_ms_total": sum(_full),
        "full_ms_median": statistics.median(_full) if _full else 0.0,
        "full_cpu_ms_total": sum(_cpu),
        "collected": sum(_collected),
        # A young collection comes every `gc.get_threshold()[0]` (700) tracked objects
        # allocated and not yet freed: these count what a round allocates.
        "collections": collections,
        "threshold": gc.get_threshold()[0],
        "tracked": sum(kinds.values()),
        "frozen": gc.get_freeze_count(),
        "types": kinds.most_common(25),
        "biggest": biggest,
        "collect_now_cpu_ms": walk,
    }
    for each in (_full, _cpu, _collected):
        each.clear()
    if tracemalloc.is_tracing():
        top = tracemalloc.take_snapshot().statistics("lineno")[:25]
        report["tracemalloc"] = [(str(s.traceback), s.size, s.count) for s in top]
    out = Path(os.environ["PROBE_OUT"])
    out.with_suffix(".tmp").write_text(json.dumps(report))
    out.with_suffix(".tmp").replace(out)


def main() -> None:
    """Install the probe, then serve as `threadline` does."""
    if os.environ.get("PROBE_TRACEMALLOC") == "1":
        tracemalloc.start(1)
    gc.callbacks.append(_timing)
    signal.signal(signal.SIGUSR1, _report)
    from threadline import serving  # noqa: PLC0415 - after the probe is in place
    from threadline.cli import main as serve  # noqa: PLC0415

    started = serving._freeze_heap  # runs once start-up is done

    def after_start_up() -> None:
        if os.environ.get("PROBE_NO_FREEZE") != "1":  # to measure what gc.freeze() saves
            started()
        if threshold := os.environ.get("PROBE_GC_THRESHOLD"):  # "700,10,10": gc.set_threshold
            gc.set_threshold(*(int(n) for n in threshold.split(",")))

    serving._freeze_heap = after_start_up
    serve(["serve"])


if __name__ == "__main__":
    main()
