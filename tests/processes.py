"""Threadline as a process of its own: the `threadline` command, as users run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import NamedTuple

import anyio
import httpx

THREADLINE = str(Path(sys.executable).with_name("threadline"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def process_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "DATABASE_"))}
    return {
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "THREADLINE_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


@contextmanager
def running(
    env: dict[str, str],
    cwd: Path,
    log: Path,
    command: str = THREADLINE,
    *args: str,
    stop_within: float = 20,
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as sink:
        process = subprocess.Popen([command, *args], env=env, cwd=cwd, stderr=sink, stdout=sink)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            code: int | None = None
            try:
                code = process.wait(timeout=stop_within)
            except subprocess.TimeoutExpired:
                # Killed and reaped, not left running: a process left behind fails, at its
                # garbage collection, whichever later test of this worker runs then.
                process.kill()
                process.wait()
            assert code == 0, f"exit {code} after Ctrl-C:\n{log.read_text()}"


async def wait_ready(port: int) -> None:
    # Generous: several servers may start at once on two cores, beside other tests.
    with anyio.fail_after(60):
        while True:
            try:
                async with httpx.AsyncClient() as http:
                    await http.get(f"http://127.0.0.1:{port}/health")
                return
            except httpx.TransportError:
                await anyio.sleep(0.1)


def fake_groq_env(
    tmp_path: Path, port: int, database_url: str, groq_url: str, **extra: str
) -> dict[str, str]:
    """The environment of a server on the test's database, answering with the fake Groq."""
    return process_env(
        tmp_path,
        port,
        DATABASE_URL=database_url,
        GROQ_API_KEY="gsk_fake",
        GROQ_API_BASE=groq_url,
        **extra,
    )


class Server(NamedTuple):
    """A `threadline` process serving on 127.0.0.1."""

    address: str
    process: subprocess.Popen[bytes]
    log: Path


@asynccontextmanager
async def servers(
    tmp_path: Path, database_url: str, groq_url: str, count: int, **extra: str
) -> AsyncIterator[list[Server]]:
    """`count` server processes on one database, started side by side, all ready."""
    with ExitStack() as stack:
        started = []
        for number in range(count):
            port = free_port()
            env = fake_groq_env(tmp_path, port, database_url, groq_url, **extra)
            log = tmp_path / f"server-{number}.log"
            process = stack.enter_context(running(env, tmp_path, log))
            started.append(Server(f"127.0.0.1:{port}", process, log))
        for server in started:
            await wait_ready(int(server.address.rsplit(":", 1)[1]))
        yield started
