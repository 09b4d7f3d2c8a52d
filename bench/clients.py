"""Load generators that speak Threadline's WebSocket protocol over real sockets."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

MESSAGE = "Tell me something about the number {n}, please."


@dataclass
class TurnTiming:
    """One turn as a client saw it, in seconds from sending the message."""

    ack: float
    first_token: float
    reply: float
    tokens: int = 0


@dataclass
class LoadResult:
    """What a load run measured."""

    timings: list[TurnTiming] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0


async def _turn(
    ws: ClientConnection, conversation_id: str | None, n: int, named: bool
) -> tuple[str, TurnTiming]:
    frame: dict[str, object] = {"message": MESSAGE.format(n=n)}
    if conversation_id:
        frame["conversation_id"] = conversation_id
    if named:  # as the web page and the terminal client send every message
        frame["client_message_id"] = uuid.uuid4().hex
    started = time.perf_counter()
    await ws.send(json.dumps(frame))
    ack = first = 0.0
    tokens = 0
    while True:
        reply = json.loads(await ws.recv())
        now = time.perf_counter() - started
        kind = reply["type"]
        if kind == "ack":
            ack, conversation_id = now, reply["conversation_id"]
        elif kind == "token":
            first, tokens = first or now, tokens + 1
        elif kind == "message":
            return str(conversation_id), TurnTiming(ack, first or now, now, tokens)
        elif kind == "error":
            raise RuntimeError(f"{reply['code']}: {reply['detail']}")


async def _client(  # noqa: PLR0913 - one client's whole configuration
    url: str, turns: int, result: LoadResult, user: str, think: float, *, named: bool
) -> None:
    try:
        async with connect(f"{url}/ws/{user}", max_size=None) as ws:
            conversation_id: str | None = None
            for n in range(turns):
                if think:  # a person reads the reply before writing again
                    await asyncio.sleep(think * random.uniform(0.5, 1.5))  # noqa: S311
                conversation_id, timing = await _turn(ws, conversation_id, n, named)
                result.timings.append(timing)
    except Exception as error:  # noqa: BLE001 - a benchmark counts errors, it does not stop
        result.errors.append(f"{type(error).__name__}: {error}")


async def run_load(  # noqa: PLR0913 - the load's shape, each named
    url: str | list[str],
    clients: int,
    turns: int,
    warmup: int = 1,
    think: float = 0.0,
    *,
    named: bool = False,
    users: str = "u",
) -> LoadResult:
    """Drive `clients` sockets concurrently, each through `turns` turns of its own conversation.

    Args:
        url: `ws://host:port` of the server; with several, client `c` uses the `c % n`th.
        clients: Concurrent sockets, each on its own conversation.
        turns: Turns per socket, after `warmup` unmeasured ones.
        warmup: Turns each socket makes first, to fill pools and caches.
        think: Mean seconds a client pauses before each message; 0 sends back to back.
        named: Send a `client_message_id` with every message, as Threadline's clients do.
        users: The measured clients' user ids are this and their number.

    Returns:
        The timings of the measured turns, and any errors.
    """
    urls = [url] if isinstance(url, str) else url
    if warmup:
        await asyncio.gather(
            *(
                _client(urls[c % len(urls)], warmup, LoadResult(), f"w{c}", 0.0, named=named)
                for c in range(clients)
            )
        )
    result = LoadResult()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _client(urls[c % len(urls)], turns, result, f"{users}{c}", think, named=named)
            for c in range(clients)
        )
    )
    result.elapsed = time.perf_counter() - started
    return result


async def hold_idle_sockets(url: str, count: int, batch: int = 200) -> list[ClientConnection]:
    """Open `count` sockets that then sit idle; the caller closes them."""
    sockets: list[ClientConnection] = []
    for start in range(0, count, batch):
        opened = await asyncio.gather(
            *(
                connect(f"{url}/ws/idle{n}", open_timeout=60)
                for n in range(start, min(count, start + batch))
            )
        )
        sockets.extend(opened)
    return sockets
