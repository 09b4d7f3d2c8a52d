"""The uvicorn configuration, shared by the CLI and the test suite."""

from __future__ import annotations

import uvicorn
from litestar import Litestar

from threadline.settings import Settings

__all__ = ("uvicorn_config",)

# The largest frame uvicorn accepts. Frames above the message limit but below this get a
# `message_too_large` error frame with the socket kept open; larger ones are refused by the
# WebSocket layer itself (close code 1009).
_MIN_WS_MAX_SIZE = 1024 * 1024


def uvicorn_config(app: Litestar, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """Build the uvicorn configuration Threadline serves with.

    Args:
        app: The ASGI application.
        settings: Host, port and message limit.
        port: Overrides `settings.port` (0 picks a free port).

    Returns:
        The configuration; logging is left to `threadline.logs`.
    """
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        log_config=None,
        lifespan="on",
        ws_max_size=max(_MIN_WS_MAX_SIZE, settings.max_message_bytes * 8),
        # Token frames are a few dozen bytes: compressing each costs more CPU and latency than
        # it saves in bandwidth (measured with bench/load.py).
        ws_per_message_deflate=False,
    )
