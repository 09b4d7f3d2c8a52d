"""Work done every so often in the background: lease, seat and presence renewals, sweeps.

One loop for all of them, so each keeps the same rule: a failed round is logged and
tried again at the next, never ending the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ("every", "stopped")


async def every(
    seconds: float, work: Callable[[], Awaitable[object]], log: logging.Logger, failed: str
) -> None:
    """Do `work` every `seconds`, until cancelled.

    Args:
        seconds: The pause before each round.
        work: One round.
        log: Where a failed round is reported (the caller's logger).
        failed: The event a failed round is logged as; the next round tries again.
    """
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception as error:  # noqa: BLE001 - retried at the next round
            log.warning(failed, extra={"error": type(error).__name__})


async def stopped(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait for it to end."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
