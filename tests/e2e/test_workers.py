"""`WORKERS=N`: several server processes on one port, as `threadline` runs them."""

from __future__ import annotations

import json
import os
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from httpx_ws import WebSocketDisconnect

from tests.fake_groq import FakeGroq, Fault
from tests.polling import eventually
from tests.processes import (
    fake_groq_env,
    free_port,
    process_env,
    running,
    wait_ready,
)
from tests.project import VERSION
from tests.wsclient import ChatClient, connect

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(40))


def _two_workers(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> tuple[int, str, dict[str, str]]:
    """A free port, its address, and the environment of a server with two workers there."""
    port = free_port()
    env = fake_groq_env(tmp_path, port, database_url, fake_groq.url, WORKERS="2")
    return port, f"127.0.0.1:{port}", env


def _workers_of(parent: int) -> set[int]:
    """The processes `parent` started, read from /proc (Linux)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # it ended meanwhile (between the two reads too)
        # Not the resource tracker multiprocessing starts beside them.
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


async def _metric(address: str, name: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://{address}/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _serving_processes(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute("SELECT count(DISTINCT process_id) FROM threadline_presence")
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _sockets_on_both_workers(
    address: str, database_url: str, stack: AsyncExitStack
) -> list[ChatClient]:
    """Sockets of users u0, u1, ... until both workers hold some (the kernel picks)."""
    chats: list[ChatClient] = []
    while len(chats) < 4 or await _serving_processes(database_url) < 2:
        assert len(chats) < 40, "every socket landed on one worker"
        chats.append(await stack.enter_async_context(connect(address, f"u{len(chats)}")))
    return chats


async def test_two_workers_serve_turns_and_any_scrape_counts_both(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    port, address, env = _two_workers(tmp_path, database_url, fake_groq)
    with running(env, tmp_path, tmp_path / "server.log") as parent:
        await wait_ready(port)
        workers = _workers_of(parent.pid)
        async with AsyncExitStack() as stack:
            chats = await _sockets_on_both_workers(address, database_url, stack)
            replies = [(await chat.turn(f"hello {n}")).reply for n, chat in enumerate(chats)]
            # Each scrape reaches one worker or the other; each must count every socket and
            # every turn (the pool figures are shared once a second).
            await anyio.sleep(1.2)
            scrapes = [
                (
                    await _metric(address, "threadline_open_sockets"),
                    await _metric(address, 'threadline_turns_total{outcome="message"}'),
                )
                for _ in range(8)
            ]
            pool_in_use = await _metric(address, "threadline_db_pool_in_use")
            # Once, not once per worker (no `pid` label): the workers run the same version.
            build_info = await _metric(address, f'threadline_build_info{{version="{VERSION}"}}')

    assert len(workers) == 2
    assert all(r["content"].endswith(f": hello {n}") for n, r in enumerate(replies))
    assert scrapes == [(len(chats), len(chats))] * 8
    assert pool_in_use >= 0
    assert build_info == 1


async def test_sigterm_to_the_server_drains_every_worker_on_the_embedded_database(
    tmp_path: Path, fake_groq: FakeGroq
) -> None:
    # No DATABASE_URL: the parent starts one embedded PostgreSQL for both workers.
    fake_groq.default = Fault(token_delay=0.05)
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = process_env(
        tmp_path, port, WORKERS="2", GROQ_API_KEY="gsk_fake", GROQ_API_BASE=fake_groq.url
    )
    with running(env, tmp_path, tmp_path / "server.log") as parent:
        await wait_ready(port)
        workers = _workers_of(parent.pid)
        async with connect(address, "alice") as chat:
            await chat.send(message=LONG)
            await chat.receive()  # the ack: stored
            await chat.receive()  # a token
            parent.send_signal(signal.SIGTERM)
            reply = (await chat.until("message", within=20))[-1]
            with pytest.raises(WebSocketDisconnect) as closed:
                await chat.receive(within=20)
        assert parent.wait(timeout=30) == 0

    assert reply["content"] == f"Reply 1: {LONG}"
    assert closed.value.code == 1012
    assert len(workers) == 2
    assert not any(_alive(pid) for pid in workers)


async def test_a_dead_worker_is_replaced_and_a_killed_server_leaves_no_worker(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    port, address, env = _two_workers(tmp_path, database_url, fake_groq)
    log = tmp_path / "server.log"
    with running(env, tmp_path, log) as parent:
        await wait_ready(port)
        first = _workers_of(parent.pid)
        os.kill(min(first), signal.SIGKILL)
        await eventually(lambda: _replaced(parent.pid, first), within=60)
        async with connect(address, "alice") as chat:
            turn = await chat.turn("still here")
        now = _workers_of(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        await eventually(lambda: _all_ended(now), within=30)

    assert "worker.died" in log.read_text()
    assert turn.reply["content"] == "Reply 1: still here"
    assert len(now) == 2


async def _replaced(parent: int, before: set[int]) -> bool:
    now = _workers_of(parent)
    return len(now) == 2 and now != before


async def _all_ended(pids: set[int]) -> bool:
    return not any(_alive(pid) for pid in pids)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
async def test_a_server_stopped_while_its_workers_start_exits_cleanly(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq, stop: signal.Signals
) -> None:
    _, _, env = _two_workers(tmp_path, database_url, fake_groq)
    with running(env, tmp_path, tmp_path / "server.log") as parent:
        await eventually(lambda: _started(parent.pid), within=30)
        workers = _workers_of(parent.pid)
        parent.send_signal(stop)  # they are still importing and building the app
        assert parent.wait(timeout=30) == 0

    assert len(workers) == 2
    assert not any(_alive(pid) for pid in workers)


async def _started(parent: int) -> bool:
    return len(_workers_of(parent)) == 2


# Moments of a worker's start, in seconds after its process appears: at 0 Python is still
# importing Threadline (none of its code has run yet); later, it builds the app, starts
# serving, serves.
_MOMENTS = (0.0, 0.3, 1.0, 2.5, 5.0)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
async def test_a_worker_stopped_at_any_moment_of_its_start_exits_0_without_a_traceback(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq, stop: signal.Signals
) -> None:
    _, _, env = _two_workers(tmp_path, database_url, fake_groq)
    log = tmp_path / "server.log"
    exits: list[int | None] = []
    with running(env, tmp_path, log) as parent:
        await eventually(lambda: _started(parent.pid), within=30)
        seen = _workers_of(parent.pid)
        worker = min(seen)
        for moment in _MOMENTS:
            await anyio.sleep(moment)
            os.kill(worker, stop)
            exits.append(await _exit_code_of(worker, log))
            assert exits[-1] == 0, (moment, log.read_text())
            worker = await _replacement(parent.pid, seen)
        # The server stops (Ctrl-C at the end of `running`) while the last one starts.

    assert exits == [0] * len(_MOMENTS)
    stopped = [_logged(log, "workers.stopped")]
    assert stopped == [{"exit_codes": [0, 0]}]
    assert "Traceback" not in log.read_text()


def _logged(log: Path, event: str) -> dict[str, Any]:
    """The fields (other than the time, level and logger) of the last `event` logged."""
    found = {}
    for line in log.read_text().splitlines():
        if line.startswith("{") and (entry := json.loads(line))["event"] == event:
            found = {k: v for k, v in entry.items() if k not in {"ts", "level", "logger", "event"}}
    return found


async def _exit_code_of(worker: int, log: Path) -> int | None:
    """The exit code the server logged for its worker `worker` once it ended."""

    async def logged() -> bool:
        return _logged(log, "worker.died").get("pid") == worker

    await eventually(logged, within=60)
    code: int | None = _logged(log, "worker.died")["exit_code"]
    return code


async def _replacement(parent: int, seen: set[int]) -> int:
    """The worker started in place of one that ended (added to `seen`)."""
    new: set[int] = set()

    async def started() -> bool:
        new.update(_workers_of(parent) - seen)
        return bool(new)

    await eventually(started, within=60)
    seen.update(new)
    return min(new)
