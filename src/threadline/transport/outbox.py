"""A socket's outgoing frames: queued, and written by a task of their own.

A turn hands each frame to every listener. If handing over meant writing to the socket, a
client that stops reading (its TCP window full) would hold the turn, every later turn of
the conversation, the other listeners and the server's shutdown. Here handing over never
waits: the frame joins a bounded queue that one writer task drains. A client that lets
the queue overflow, or keeps a single write waiting past the send timeout, is dropped; its
turns carry on and are stored as if it had disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.status_codes import WS_1008_POLICY_VIOLATION

from threadline.transport.protocol import ServerFrame, encode

__all__ = ("Outbox",)

logger = logging.getLogger(__name__)

# A close frame to a client that does not read may never be written; don't wait for long.
_CLOSE_TIMEOUT = 1.0


class Outbox:
    """Frames waiting to be written to one socket, and the task that writes them.

    Call it with a frame to send (it never waits on the client). `dropped` is set once the
    client was found too slow; `gone` once nothing more will be written. The writer task
    starts with the first frame, so an idle socket costs no task.
    """

    def __init__(
        self, socket: WebSocket[Any, Any, Any], *, max_frames: int, send_timeout: float
    ) -> None:
        self._socket = socket
        self._queue: asyncio.Queue[str] = asyncio.Queue(max_frames)
        self._send_timeout = send_timeout
        self._writer: asyncio.Task[None] | None = None
        self._on_drop: Callable[[], object] | None = None
        self.gone = False
        self.dropped = False

    async def __call__(self, frame: ServerFrame) -> None:
        """Queue `frame` for the client; drop the client if its queue is full."""
        if self.gone:
            return
        try:
            self._queue.put_nowait(encode(frame))
        except asyncio.QueueFull:
            self._drop("queue_full")
            return
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    def when_dropped(self, callback: Callable[[], object]) -> None:
        """Call `callback` if the client is dropped (to stop reading from it)."""
        self._on_drop = callback

    async def close(self, grace: float) -> None:
        """Give queued frames up to `grace` seconds to go out, then stop writing.

        A dropped client is sent a close frame (1008) if it can still take one.
        """
        if self._writer is not None and not self.gone:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self._queue.join()
        self.gone = True
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if self.dropped:
            await self.close_socket(WS_1008_POLICY_VIOLATION, "client too slow to read")

    async def close_socket(self, code: int, reason: str) -> None:
        """Close the socket with `code`, unless the client cannot take even that."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self._socket.close(code, reason)

    async def _write(self) -> None:
        while True:
            text = await self._queue.get()
            try:
                async with asyncio.timeout(self._send_timeout):
                    await self._socket.send_text(text)
            except TimeoutError:
                self._drop("send_timeout")
                return
            except (WebSocketDisconnect, OSError, RuntimeError):
                self.gone = True  # the client went away; its turns go on without it
                return
            finally:
                self._queue.task_done()

    def _drop(self, reason: str) -> None:
        if self.gone:
            return
        self.gone = True
        self.dropped = True
        logger.warning("socket.dropped", extra={"reason": reason})
        if self._on_drop is not None:
            self._on_drop()
