"""The bench's processes: PostgreSQL, servers, free ports, and what a server costs (CPU, RSS)."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from threadline.storage.database import start_embedded_postgres

_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def raise_file_limit() -> None:
    """Let this process (and its children) open as many sockets as the hard limit allows."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`args` running as a child, terminated on leaving."""
    child = subprocess.Popen(args, env=env, preexec_fn=raise_file_limit)  # noqa: S603, PLW1509
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=30)


@contextmanager
def postgres() -> Iterator[str]:
    """An embedded PostgreSQL in a temporary folder, with room for 300 connections."""
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        server.psql("ALTER SYSTEM SET max_connections = 300;")
        server.cleanup()  # restart so max_connections takes effect
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def wait_http(url: str, timeout: float = 60) -> None:
    """Wait until `url` answers below 500."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wait_port(port: int, timeout: float = 60) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (a `WORKERS` parent's workers), as far as they are alive."""
    found = [pid]
    for child in _children(pid):
        found += _tree(child)
    return found


def _children(pid: int) -> list[int]:
    """The children of every thread of `pid` (a thread's children are listed under it)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its live descendants."""
    total = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its live descendants, in KB."""
    total = 0
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total
