"""One Threadline server process: the app under uvicorn, with a drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from threadline.settings import Settings, SettingsError

if TYPE_CHECKING:
    from types import FrameType

    from litestar import Litestar
    from uvicorn._types import ASGISendEvent

__all__ = ("DrainingServer", "QuietRefusals", "serve_one", "uvicorn_config")

# The largest frame uvicorn accepts. Frames above the message limit but below this get a
# `message_too_large` error frame with the socket kept open; larger ones are refused by the
# WebSocket layer itself (close code 1009).
_MIN_WS_MAX_SIZE = 1024 * 1024
_CONNECTIONS_CLOSE_TIMEOUT = 2
# gc.set_threshold after start-up: Python's defaults for the young generations, and a
# full collection considered every 60 collections of the middle one (Python's: 10).
_YOUNG, _MIDDLE, _FULL_EVERY = 700, 10, 60


def serve_one(settings: Settings, sockets: list[socket.socket] | None = None) -> None:
    """Serve Threadline with uvicorn in this process until interrupted.

    Args:
        settings: The configuration.
        sockets: Listening sockets already bound (a worker's); None binds HOST:PORT.
    """
    # Imported after logging is set up, so import-time warnings come out as JSON too.
    from threadline.app import create_app  # noqa: PLC0415

    try:
        app = create_app(settings)
    except SettingsError as error:
        sys.exit(f"threadline: {error}")
    app.on_startup.append(_freeze_heap)  # runs once start-up (storage, graph) is done
    # uvicorn shuts down gracefully on Ctrl-C, then re-raises the signal; the shutdown
    # already happened, so end quietly instead of printing a traceback.
    with contextlib.suppress(KeyboardInterrupt):
        DrainingServer(uvicorn_config(app, settings), app).run(sockets=sockets)


def uvicorn_config(
    app: Litestar | str, settings: Settings, *, port: int | None = None, **more: Any
) -> uvicorn.Config:
    """Build the uvicorn configuration Threadline serves with.

    Args:
        app: The ASGI application (or where to import its factory from: `threadline dev`).
        settings: Host, port and message limit.
        port: Overrides `settings.port` (0 picks a free port).
        **more: More of uvicorn's options (`threadline dev`'s reloading).

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
        # At shutdown uvicorn waits for every connection to close, and a client that stops
        # reading never lets its socket's buffered bytes drain, so that wait would never end.
        # Healthy sockets close at once (1012); after this, the rest are cut and the turns
        # get SHUTDOWN_GRACE in the lifespan's drain.
        timeout_graceful_shutdown=_CONNECTIONS_CLOSE_TIMEOUT,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        ws=QuietRefusals,
        **more,
    )


class QuietRefusals(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, without an ERROR line for each refused handshake.

    The access middleware refuses a handshake with an HTTP answer (the ASGI denial
    extension). uvicorn 0.54 sends it but leaves the handshake marked unfinished, so it
    then logs "ASGI callable returned without completing handshake" at ERROR: anyone
    without credentials could fill the error log. Once the refusal is sent, the handshake
    is over, as uvicorn's wsproto protocol already says (upstream: Kludex/uvicorn#3138).
    """

    async def send(self, message: ASGISendEvent) -> None:
        """Send as uvicorn does; a refusal's last byte ends the handshake."""
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain before its shutdown on SIGTERM (what orchestrators send).

    At once: `/ready` answers 503 and new sockets are refused, so the load balancer sends
    nobody new here. Then running turns get SHUTDOWN_GRACE to finish, their sockets still
    open to receive the replies. Only then does uvicorn's shutdown begin, which closes the
    sockets with 1012 (service restart): clients reconnect, to another replica, and
    `resume`. A second signal, or Ctrl-C, shuts down at once as before.
    """

    def __init__(self, config: uvicorn.Config, app: Litestar) -> None:
        super().__init__(config)
        self._app = app
        self._drain_requested = False
        self._draining: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM begins the drain; anything else (or a second SIGTERM) exits as usual."""
        services = getattr(self._app.state, "services", None)
        if sig != signal.SIGTERM or self._drain_requested or services is None:
            super().handle_exit(sig, frame)
            return
        self._drain_requested = True
        services.chat.begin_drain()  # sets a flag: safe from a signal handler

    async def on_tick(self, counter: int) -> bool:
        """Uvicorn's tick (every 0.1 s): start the drain once it was asked for."""
        if self._drain_requested and self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await super().on_tick(counter)

    async def _drain(self) -> None:
        services = self._app.state.services
        await services.chat.settle(services.settings.shutdown_grace)
        self.should_exit = True


def _freeze_heap() -> None:
    """Keep what start-up built out of every later full garbage collection.

    The libraries leave about 140,000 long-lived objects behind, and a full collection
    walks them all: measured, 75-90 ms with the event loop stopped, which landed in
    whichever turns were running. Frozen, a full collection walks only what was made
    since, a few thousand objects.

    After that, a full collection is considered every 60 collections of the middle
    generation instead of 10. With 50 turns at once, nearly everything a turn allocates
    outlives two young collections and reaches the oldest generation, so full collections
    came every ~85 turns, each walking the whole unfrozen heap. Measured side by side
    (`python -m bench.rounds --probe --compare-env PROBE_GC_THRESHOLD=700,10,60`): one
    automatic full collection a round of 500 turns instead of five or six, their CPU
    about a quarter, the memory the same.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG, _MIDDLE, _FULL_EVERY)
