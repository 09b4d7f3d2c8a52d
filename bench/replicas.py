"""The same load spread over 1, 2, … N server processes on one database (`--servers N`).

Each client's socket lands on server `c % k`; with `--followers`, each user also keeps a
second socket on the next server, subscribed to the conversation, the way a second tab
would, so every turn's frames cross between processes. Per round: throughput, latency,
database transactions per turn (`pg_stat_database`) and NOTIFYs per turn (counted by a
listener of this process's own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from websockets.asyncio.client import connect

from bench.clients import LoadResult, run_load

THREADLINE = str(Path(sys.executable).with_name("threadline"))


@contextmanager
def _servers(
    count: int, env_for: Callable[[], dict[str, str]], start: Callable[..., Any]
) -> Iterator[list[str]]:
    """`count` threadline processes, each on a port of its own; yields their `ws://` URLs."""
    with ExitStack() as stack:
        urls = []
        for _ in range(count):
            env = env_for()
            stack.enter_context(start([THREADLINE], env))
            urls.append(f"ws://127.0.0.1:{env['PORT']}")
        yield urls


async def transactions(database_url: str, settle: float = 11) -> int:
    """Transactions committed or rolled back so far, in every database of the server.

    PostgreSQL's backends report their counts at most once a second while busy, and a
    backend that went idle reports within ten seconds: waiting that long first makes the
    count exact, whatever ran just before (`settle` shorter: a quick, rough count).
    """
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await asyncio.sleep(settle)
        row = await (
            await conn.execute("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database")
        ).fetchone()
        return int(row[0]) if row else 0


class _NoticeCounter:
    """Counts the NOTIFYs on Threadline's channel while it runs."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self.notifies = 0
        self.bytes = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _NoticeCounter:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready))
        await ready.wait()
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.sleep(0.5)
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _listen(self, ready: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            await conn.execute("LISTEN threadline")
            ready.set()
            async for notify in conn.notifies():
                self.notifies += 1
                self.bytes += len(notify.payload)


async def _follow(url: str, user: str, stop: asyncio.Event, frames: list[int]) -> None:
    """A second tab of `user`: subscribes to each conversation it hears created."""
    async with connect(f"{url}/ws/{user}", max_size=None) as ws:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
            except TimeoutError:
                continue
            frames[0] += 1
            if frame.get("type") == "conversation" and frame.get("event") == "created":
                subscribe = {"type": "subscribe", "conversation_id": frame["conversation_id"]}
                await ws.send(json.dumps(subscribe))


async def _round(
    urls: list[str], database_url: str, load: tuple[int, int, float], followers: bool
) -> dict[str, Any]:
    clients, turns, settle = load
    stop, followed = asyncio.Event(), [0]
    tabs = []
    if followers:
        tabs = [
            asyncio.create_task(_follow(urls[(c + 1) % len(urls)], f"u{c}", stop, followed))
            for c in range(clients)
        ]
        await asyncio.sleep(1)  # every server has heard of every tab
    before = await transactions(database_url, settle)
    async with _NoticeCounter(database_url) as notices:
        load: LoadResult = await run_load(urls, clients, turns, warmup=0)
    after = await transactions(database_url, settle)
    stop.set()
    await asyncio.gather(*tabs, return_exceptions=True)
    count = max(1, len(load.timings))
    replies = sorted(t.reply for t in load.timings)
    return {
        "servers": len(urls),
        "turns": len(load.timings),
        "errors": len(load.errors),
        "turns_per_s": len(load.timings) / load.elapsed if load.elapsed else 0.0,
        "p50_ms": replies[len(replies) // 2] * 1000 if replies else 0.0,
        "transactions_per_turn": (after - before) / count,
        "notifies_per_turn": notices.notifies / count,
        "notify_kb_per_turn": notices.bytes / 1024 / count,
        "follower_frames_per_turn": followed[0] / count,
    }


def scaling(  # noqa: PLR0913, PLR0917 - what load.py owns, each named
    servers: int,
    database_url: str,
    env_for: Callable[[], dict[str, str]],
    start: Callable[..., Any],
    wait: Callable[[str], None],
    load: tuple[int, int, float],
) -> list[dict[str, Any]]:
    """Run the load (clients, turns, stats settle time) on 1, 2, … `servers` processes,
    without and with second tabs."""
    rounds = []
    for count in range(1, servers + 1):
        for followers in (False, True) if count > 1 else (False,):
            with _servers(count, env_for, start) as urls:
                for url in urls:
                    wait(url.replace("ws://", "http://") + "/ready")
                result = asyncio.run(_round(urls, database_url, load, followers))
                result["second_tabs"] = followers
                rounds.append(result)
    return rounds
