"""`WORKERS=N`: N server processes on one port, so that every core of a machine serves.

A Python process runs on one core at a time, and a turn is bound by its process's CPU, not
by the database. The parent process binds HOST:PORT once, starts the embedded PostgreSQL
when DATABASE_URL is unset (once, for all of them), and keeps N workers running. Each is
what `threadline` runs alone, its own pool and its own drain on SIGTERM, spawned fresh
rather than forked (a forked event loop or pool is not safe to use). The kernel hands each
new connection to one of them, and they meet in the database exactly as replicas do
(leases, the relay between processes, presence): a user's second tab on another worker
follows the same turns. Metrics are shared through files (see `observability.metrics`).

SIGTERM and SIGINT go on to every worker, which drains as a lone server would, and the
parent waits for them; a worker stopped at any moment of its start, even while Python still
imports Threadline, ends with exit code 0 (`_Supervisor._start`, `_work`). A worker
that dies is replaced; one that keeps dying at start-up stops the whole server. Workers die
with the parent (Linux), so a killed parent leaves none serving on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from threadline.observability.logs import configure_logging
from threadline.serving import serve_one
from threadline.settings import Settings, load_settings
from threadline.storage.database import start_embedded, stop_embedded

if TYPE_CHECKING:
    from types import FrameType

__all__ = ("shared_database", "supervise")

logger = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
_CHECK_EVERY = 0.2
# A worker that dies this soon after starting failed to start; three in a row stop it all.
_START_UP = 10.0
_START_FAILURES = 3
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The signals that stop a worker, passed on by the parent.
_STOPS = frozenset({signal.SIGTERM, signal.SIGINT})


def supervise(settings: Settings) -> None:
    """Serve on HOST:PORT with `settings.workers` processes until a signal ends them."""
    with shared_database(settings), _shared_metrics():
        listening = uvicorn.Config("threadline", settings.host, settings.port, log_config=None)
        sock = listening.bind_socket()
        code = _Supervisor(settings.workers, sock, settings.shutdown_grace).run()
        sock.close()
    sys.exit(code)


@contextlib.contextmanager
def shared_database(settings: Settings) -> Iterator[None]:
    """One embedded PostgreSQL for every worker, unless DATABASE_URL names one."""
    if settings.database_url is not None:
        yield
        return
    server = start_embedded(settings.data_dir)
    # The workers read their settings from the environment.
    os.environ["DATABASE_URL"] = server.get_uri()
    try:
        yield
    finally:
        stop_embedded(server)


@contextlib.contextmanager
def _shared_metrics() -> Iterator[None]:
    """A directory where the workers' metrics meet, emptied of an earlier run's."""
    given = os.environ.get(_METRICS_DIR)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="threadline-metrics-"))
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[_METRICS_DIR] = str(directory)
    try:
        yield
    finally:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)


class _Supervisor:
    """Keeps `count` workers serving on `sock` until told to stop, then waits for them."""

    def __init__(self, count: int, sock: socket.socket, grace: float) -> None:
        self._count = count
        self._sock = sock
        # A worker drains for up to SHUTDOWN_GRACE, then closes its sockets and shuts down.
        self._stop_within = grace + 15
        self._workers: list[BaseProcess] = []
        self._started: dict[BaseProcess, float] = {}
        self._start_failures = 0
        self._stopping = False

    def run(self) -> int:
        """Serve until a signal (0) or until workers keep failing to start (1)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for _ in range(self._count):
            self._start()
        logger.info("workers.started", extra={"workers": self._count})
        while not self._stopping:
            time.sleep(_CHECK_EVERY)
            if not self._replace_dead():
                self._stop_all(signal.SIGTERM)
                self._wait_all()
                return 1
        return self._wait_all()

    def _start(self, index: int | None = None) -> None:
        """Start a worker (in place of the one at `index`), unless the server is stopping.

        The worker is born with SIGTERM and SIGINT blocked (a signal mask survives exec): a
        stop sent while Python still imports waits until `_work` can end cleanly. Here they
        wait too, so the worker is listed before `_on_signal` can look for it.
        """
        resource_tracker.ensure_running()  # starting the tracker would unblock them
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            if self._stopping:
                return
            worker = _SPAWN.Process(target=_work, args=(self._sock, os.getpid()), daemon=False)
            worker.start()
            self._started[worker] = time.monotonic()
            if index is None:
                self._workers.append(worker)
            else:
                self._workers[index] = worker
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _on_signal(self, sig: int, _frame: FrameType | None) -> None:
        # A second signal is passed on too: a worker then shuts down at once, as alone.
        self._stopping = True
        self._stop_all(sig)

    def _stop_all(self, sig: int) -> None:
        for worker in self._workers:
            if worker.pid is not None and worker.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, sig)

    def _replace_dead(self) -> bool:
        """Start a new worker for each that died; False once they keep failing to start."""
        for index, worker in enumerate(self._workers):
            if worker.exitcode is None or self._stopping:
                continue
            _forget_metrics_of(worker.pid)
            lived = time.monotonic() - self._started.pop(worker)
            logger.error("worker.died", extra={"pid": worker.pid, "exit_code": worker.exitcode})
            if worker.exitcode != 0:  # stopped cleanly (a signal to it alone): not a failure
                self._start_failures = self._start_failures + 1 if lived < _START_UP else 0
            if self._start_failures >= _START_FAILURES:
                logger.error("workers.failing", extra={"failures": self._start_failures})
                return False
            self._start(index)
        return True

    def _wait_all(self) -> int:
        deadline = time.monotonic() + self._stop_within
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.exitcode is None:
                worker.kill()
                worker.join()
            _forget_metrics_of(worker.pid)
        codes = [worker.exitcode for worker in self._workers]
        logger.info("workers.stopped", extra={"exit_codes": codes})
        return 0 if all(code == 0 for code in codes) else 1


def _forget_metrics_of(pid: int | None) -> None:
    """Drop a dead worker's live gauges (its open sockets, queued turns) from the sums."""
    from prometheus_client import multiprocess  # noqa: PLC0415 - after the directory is set

    if pid is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class _Stopped(BaseException):
    """SIGTERM or SIGINT reached a worker outside uvicorn's own handlers."""


def _stop(_sig: int, _frame: FrameType | None) -> None:
    raise _Stopped


def _work(sock: socket.socket, parent: int) -> None:
    """A worker's life: a whole Threadline server on the parent's socket.

    It begins with SIGTERM and SIGINT blocked (`_Supervisor._start`). From here on either
    one ends it with exit code 0: while it starts, at once (a stop sent while Python was
    importing, as soon as they are unblocked); while it serves, through uvicorn's handlers
    and the drain, after which uvicorn sends the signal again, to `_stop`.
    """
    for sig in _STOPS:
        signal.signal(sig, _stop)
    with contextlib.suppress(_Stopped):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
        _die_with(parent)
        # Its own process group: Ctrl-C in a terminal reaches the parent only, which passes
        # it on once (twice would mean "at once" to the worker).
        os.setpgid(0, 0)
        settings = load_settings()
        configure_logging(settings.log_level)
        serve_one(settings, [sock])


def _die_with(parent: int) -> None:
    """Have the kernel send this process SIGTERM when the parent dies (Linux only)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)
