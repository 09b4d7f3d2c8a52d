"""Waiting for something a server does on its own time (a close noticed, a tally written)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import anyio


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 5, every: float = 0.05
) -> None:
    """Return once `check()` is true; fail if it is not within `within` seconds."""
    with anyio.fail_after(within):
        for _ in itertools.count():
            if await check():
                return
            await anyio.sleep(every)


async def listening(port: int) -> None:
    """Return once something accepts connections on 127.0.0.1:`port` (within 20 s)."""

    async def accepting() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await eventually(accepting, within=20, every=0.1)
