"""`threadline`: serve the app with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from threadline.logs import configure_logging
from threadline.settings import SettingsError, load_settings

__all__ = ("main",)

# The largest frame uvicorn accepts. Frames above the message limit but below this get a
# `message_too_large` error frame with the socket kept open; larger ones are refused by the
# WebSocket layer itself (close code 1009).
_MIN_WS_MAX_SIZE = 1024 * 1024


def main() -> None:
    """Start the server on HOST:PORT (default 0.0.0.0:8000)."""
    try:
        settings = load_settings()
    except SettingsError as error:
        sys.exit(f"threadline: {error}")
    configure_logging(settings.log_level)

    from threadline.app import create_app  # noqa: PLC0415 - after logging is set up

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=max(_MIN_WS_MAX_SIZE, settings.max_message_bytes * 8),
    )
