"""This process as one of several that share the database: its relay, connected."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from threadline.chat.fanout.relay import Relay, RequestHandler
from threadline.storage.database import Pool
from threadline.storage.notices import Notices
from threadline.storage.presence import PresenceBoard

__all__ = ("joined",)


@asynccontextmanager
async def joined(
    url: str,
    pool: Pool,
    presence_ttl: float,
    *,
    serve: RequestHandler | None = None,
    on_change: Callable[[str | None], None] | None = None,
) -> AsyncIterator[Relay]:
    """A relay that listens for the other processes and counts this one's sockets.

    Args:
        url: The database, for the listening connection (which is not pooled).
        pool: The shared pool, for everything else.
        presence_ttl: How long a process that stops renewing its presence still counts.
        serve: Serves stops and resumes asked from elsewhere (see `Relay`).
        on_change: Told whose memories or documents changed (see `Relay`).

    Yields:
        The relay; on exit this process leaves every total at once.
    """
    process_id = secrets.token_hex(6)
    notices = Notices(url, pool, process_id)
    board = PresenceBoard(pool, process_id, presence_ttl)
    relay = Relay(process_id, notices=notices, board=board, serve=serve, on_change=on_change)
    # What the storage below calls back up, at run time: the relay alone.
    await board.join(on_beat=relay.on_beat)
    try:
        await notices.start(on_notice=relay.on_notice, on_reconnect=relay.resync)
        await relay.resync()  # who is where already
        yield relay
    finally:
        await notices.close()
        await board.leave()
