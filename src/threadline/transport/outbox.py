"""A socket's outgoing frames: queued by the caller, written by a task of the socket's own.

A turn hands each frame to every listener. If handing over meant waiting for the write, a
client that stops reading (its TCP window full) would hold the turn, every later turn of
the conversation, the other listeners and the server's shutdown. So handing over only
queues the frame, and a writer task (started when frames wait, ended when none do) writes
them in order. The queue is bounded in frames and in bytes, per socket and for all the
process's sockets (`SendBudget`); a frame's bytes count from the moment it is queued until
the server has written it (it is then in uvicorn's buffer, which takes no more once it
holds 64 KiB: a write that finds it full is the one that waits). A client that lets the
queue overflow, or keeps one write waiting past the send timeout, is dropped and its
frames freed; its turns carry on and are stored as if it had disconnected. A caller that
hands over many frames at once (a late listener's catch-up) lets the writer run when
half the queue is taken, so a burst a reading client takes at once never fills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.status_codes import WS_1008_POLICY_VIOLATION

from threadline.chat.events import Event
from threadline.transport.websocket_frames import encode_bytes

__all__ = ("Outbox", "SendBudget")

logger = logging.getLogger(__name__)

# A close frame to a client that does not read may never be written; don't wait for long.
_CLOSE_TIMEOUT = 1.0
_GONE = (WebSocketDisconnect, OSError, RuntimeError)


class SendBudget:
    """The bytes waiting to be written to all of a process's sockets, and their bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


class Outbox:
    """Frames on their way to one socket.

    Call it with a frame to send (it never waits on the client). `dropped` is set once the
    client was found too slow; `gone` once nothing more will be written.
    """

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        *,
        max_frames: int,
        max_bytes: int,
        budget: SendBudget,
        send_timeout: float,
    ) -> None:
        self._socket = socket
        self._queue: deque[bytes] = deque()
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._budget = budget
        self._waiting = 0  # bytes of the frames queued and of the one being written
        self._send_timeout = send_timeout
        self._writer: asyncio.Task[None] | None = None  # only while frames wait
        self._on_drop: Callable[[], object] | None = None
        self.gone = False
        self.dropped = False

    async def __call__(self, event: Event) -> None:
        """Queue `event`'s frame for the writer; drop the client if the queue is full."""
        if not self.gone:
            await self.put(encode_bytes(event))

    async def put(self, data: bytes) -> None:
        """Queue a frame already encoded (another protocol's), as `__call__` does."""
        if self.gone:
            return
        refusal = self._refusal(len(data))
        if refusal is not None:
            self._drop(refusal)
            return
        self._queue.append(data)
        self._hold(len(data))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        elif len(self._queue) * 2 >= self._max_frames:
            await asyncio.sleep(0)  # a burst: the writer takes what the client reads at once

    def when_dropped(self, callback: Callable[[], object]) -> None:
        """Call `callback` if the client is dropped (to stop reading from it)."""
        self._on_drop = callback

    async def close(self, grace: float) -> None:
        """Give queued frames up to `grace` seconds to go out, then stop writing.

        A dropped client is sent a close frame (1008) if it takes one within the send
        timeout.
        """
        if self._writer is not None and not self.gone:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._writer)
        self._end()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if self.dropped:
            within = max(_CLOSE_TIMEOUT, self._send_timeout)
            await self.close_socket(WS_1008_POLICY_VIOLATION, "client too slow to read", within)

    async def close_socket(self, code: int, reason: str, within: float = _CLOSE_TIMEOUT) -> None:
        """Close the socket with `code`, unless the client does not take even that `within`."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(within):
                await self._socket.close(code, reason)

    async def _write(self) -> None:
        """Write the queued frames in order, until none is left."""
        try:
            while self._queue and not self.gone:
                data = self._queue.popleft()  # still counted until written
                async with asyncio.timeout(self._send_timeout):
                    await self._socket.send_text(data)
                self._written(len(data))
        except TimeoutError:
            self._drop("send_timeout")
        except _GONE:
            self._end()  # the client went away; its turns go on without it
        finally:
            self._writer = None

    def _refusal(self, size: int) -> str | None:
        """Why a frame of `size` bytes may not be queued, if it may not."""
        if len(self._queue) >= self._max_frames:
            return "queue_full"
        if self._waiting + size > self._max_bytes:
            return "socket_send_bytes"
        if self._budget.used + size > self._budget.limit:
            return "process_send_bytes"
        return None

    def _hold(self, size: int) -> None:
        self._waiting += size
        self._budget.used += size

    def _written(self, size: int) -> None:
        if not self.gone:  # else already given back, with the rest
            self._waiting -= size
            self._budget.used -= size

    def _end(self) -> None:
        """Write nothing more: the frames still waiting are freed, and their bytes given back."""
        self.gone = True
        self._queue.clear()
        self._budget.used -= self._waiting
        self._waiting = 0

    def _drop(self, reason: str) -> None:
        if self.gone:
            return
        self._end()
        self.dropped = True
        logger.warning("socket.dropped", extra={"reason": reason})
        if self._on_drop is not None:
            self._on_drop()
