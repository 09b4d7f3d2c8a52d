"""Waiting for something a server does on its own time (a close noticed, a tally written)."""

from __future__ import annotations

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
