"""Prometheus metrics of turns, model calls, sockets and the database pool (`GET /metrics`).

Model metrics are named after the OpenTelemetry GenAI conventions, in Prometheus form:
`gen_ai.server.time_to_first_token` is `gen_ai_server_time_to_first_token_seconds`,
`gen_ai.client.token.usage` is `gen_ai_client_token_usage` (by `gen_ai_token_type`, input
or output), `gen_ai.client.operation.duration` is
`gen_ai_client_operation_duration_seconds`. Each replica serves its own: Prometheus
scrapes every replica and sums them. The `WORKERS` of one replica share theirs through
files (prometheus-client's multiprocess mode, on when `PROMETHEUS_MULTIPROC_DIR` is set
before this module is imported), so any worker's `/metrics` counts them all.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from threadline.version import VERSION

__all__ = (
    "BUILD_INFO",
    "FEEDBACK",
    "MODEL_ERRORS",
    "OPEN_SOCKETS",
    "QUEUED_TURNS",
    "observe_first_token",
    "observe_model_call",
    "observe_turn",
    "pool_watched",
)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_TOKENS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)

TURNS = Counter(
    "threadline_turns",
    "Turns ended, by outcome (message, stopped, approval, interrupt, or the error code).",
    ["outcome"],
)
TURN_DURATION = Histogram(
    "threadline_turn_duration_seconds", "From a turn's start to its outcome.", buckets=_SECONDS
)
TIME_TO_FIRST_TOKEN = Histogram(
    "gen_ai_server_time_to_first_token_seconds",
    "From a model request to its first token (gen_ai.server.time_to_first_token).",
    ["gen_ai_request_model"],
    buckets=_SECONDS,
)
TOKEN_USAGE = Histogram(
    "gen_ai_client_token_usage",
    "Tokens of one model call, by type (gen_ai.client.token.usage).",
    ["gen_ai_request_model", "gen_ai_token_type"],
    buckets=_TOKENS,
)
OPERATION_DURATION = Histogram(
    "gen_ai_client_operation_duration_seconds",
    "One model call, retries included (gen_ai.client.operation.duration).",
    ["gen_ai_request_model"],
    buckets=_SECONDS,
)
MODEL_ERRORS = Counter(
    "threadline_model_errors", "Failed model requests, by HTTP status or error kind.", ["code"]
)
FEEDBACK = Counter(
    "threadline_feedback",
    "Feedback given on replies, by rating (up, down, or none: cleared or a comment only).",
    ["rating"],
)
# Summed over the live worker processes (a single process: its own value).
OPEN_SOCKETS = Gauge(
    "threadline_open_sockets", "WebSockets open on this server.", multiprocess_mode="livesum"
)
QUEUED_TURNS = Gauge(
    "threadline_queued_turns", "Turns waiting behind a running one.", multiprocess_mode="livesum"
)
# `threadline_build_info{version="…"} 1`: which version each replica runs. A gauge, not an
# Info, which prometheus-client cannot share between WORKERS; every worker sets the same 1.
BUILD_INFO = Gauge(
    "threadline_build_info",
    "The version this server runs, in its label; always 1.",
    ["version"],
    multiprocess_mode="livemax",
)
BUILD_INFO.labels(VERSION).set(1)


def observe_turn(outcome: str, seconds: float) -> None:
    """A turn ended with `outcome` after `seconds`."""
    TURNS.labels(outcome).inc()
    TURN_DURATION.observe(seconds)


def observe_first_token(model: str, seconds: float) -> None:
    """A model call's first token came `seconds` after the request."""
    TIME_TO_FIRST_TOKEN.labels(model).observe(seconds)


def observe_model_call(model: str, seconds: float, usage: dict[str, Any] | None) -> None:
    """A model call ended after `seconds`, having used `usage` (its usage metadata)."""
    OPERATION_DURATION.labels(model).observe(seconds)
    for kind in ("input", "output"):
        tokens = (usage or {}).get(f"{kind}_tokens")
        if tokens:
            TOKEN_USAGE.labels(model, kind).observe(tokens)


class _Pools(Collector):
    """The database pools' connections in use and requests waiting, read at each scrape.

    One collector for the process (a registry takes each metric name once), reading every
    pool an app opened: a server has one; a test process may run several apps.
    """

    def __init__(self) -> None:
        self.stats: list[Callable[[], dict[str, int]]] = []

    def read(self) -> tuple[int, int]:
        """Connections in use and requests waiting, over every pool, now."""
        read = [stats() for stats in self.stats]
        in_use = sum(s.get("pool_size", 0) - s.get("pool_available", 0) for s in read)
        return in_use, sum(s.get("requests_waiting", 0) for s in read)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the pools' statistics now."""
        in_use, waiting = self.read()
        yield GaugeMetricFamily("threadline_db_pool_in_use", _IN_USE, in_use)
        yield GaugeMetricFamily("threadline_db_pool_waiting", _WAITING, waiting)


_IN_USE, _WAITING = "Connections in use.", "Requests waiting."
_POOLS = _Pools()
REGISTRY.register(_POOLS)
# With several workers a scrape reaches one of them, which reads the others' values from
# their files; a collector would report only its own pool. Each worker writes its pool's
# figures there every second instead (unregistered: the collector keeps the names here).
_MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ  # as prometheus-client decides
_SHARED_IN_USE = Gauge(
    "threadline_db_pool_in_use", _IN_USE, registry=None, multiprocess_mode="livesum"
)
_SHARED_WAITING = Gauge(
    "threadline_db_pool_waiting", _WAITING, registry=None, multiprocess_mode="livesum"
)
_SHARE_EVERY = 1.0


@asynccontextmanager
async def pool_watched(stats: Callable[[], dict[str, int]]) -> AsyncIterator[None]:
    """Serve a pool's statistics (its `get_stats`) for the duration of the block."""
    _POOLS.stats.append(stats)
    sharing = asyncio.create_task(_share_pools()) if _MULTIPROCESS else None
    try:
        yield
    finally:
        if sharing is not None:
            sharing.cancel()
        _POOLS.stats.remove(stats)


async def _share_pools() -> None:
    while True:
        in_use, waiting = _POOLS.read()
        _SHARED_IN_USE.set(in_use)
        _SHARED_WAITING.set(waiting)
        await asyncio.sleep(_SHARE_EVERY)
