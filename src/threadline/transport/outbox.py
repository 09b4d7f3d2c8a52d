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

Behind a client that reads slower than tokens come (a write waits for it: its TCP window
and uvicorn's buffer are full), `token` frames of one message queued one after another
go out as one frame (`coalesced`): their deltas joined, the last one's `seq`. A client
that keeps up never has a write waiting, and gets one frame per token, however many come
at once; one that falls behind gets fewer, larger frames, and the server makes fewer
writes for it. A frame's bytes count as the frames it replaces would (a little more than
it is), until it is written.
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

from threadline.chat.events import Event, Token
from threadline.transport.websocket_frames import coalesced, encode_bytes

__all__ = ("Outbox", "SendBudget")

logger = logging.getLogger(__name__)

# A close frame to a client that does not read may never be written; don't wait for long.
_CLOSE_TIMEOUT = 1.0
_GONE = (WebSocketDisconnect, OSError, RuntimeError)
# Tokens joined into one frame stop there: a frame of at most about this many bytes.
_COALESCED_BYTES = 16 * 1024


class _Waiting:
    """A frame in the queue: its bytes, or the tokens it will join, and the bytes it holds."""

    __slots__ = ("data", "size", "tokens")

    def __init__(self, data: bytes, event: Event | None) -> None:
        self.data = data
        self.size = len(data)
        self.tokens = [event] if isinstance(event, Token) else []  # none: not a token

    def joining(self, event: Event) -> Token | None:
        """`event`, if it is the next token of the same message and the frame has room."""
        if not self.tokens or not isinstance(event, Token) or self.size >= _COALESCED_BYTES:
            return None
        last = self.tokens[-1]
        same = (event.message_id, event.conversation_id, event.agent)
        return event if same == (last.message_id, last.conversation_id, last.agent) else None

    def join(self, token: Token, size: int) -> None:
        """Send `token` (`size` bytes as a frame of its own) in this frame too."""
        self.tokens.append(token)
        self.size += size

    def frame(self) -> bytes:
        """What goes out on the socket."""
        if len(self.tokens) < 2:
            return self.data
        return encode_bytes(coalesced(self.tokens))


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
        self._queue: deque[_Waiting] = deque()
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._budget = budget
        self._waiting = 0  # bytes of the frames queued and of the one being written
        self._send_timeout = send_timeout
        self._writer: asyncio.Task[None] | None = None  # only while frames wait
        self._behind = False  # a write waits for the client to read
        self._on_drop: Callable[[], object] | None = None
        self.gone = False
        self.dropped = False

    async def __call__(self, event: Event) -> None:
        """Queue `event`'s frame for the writer; drop the client if the queue is full."""
        if not self.gone:
            await self._queued(encode_bytes(event), event)

    async def put(self, data: bytes) -> None:
        """Queue a frame already encoded (another protocol's), as `__call__` does."""
        await self._queued(data, None)

    async def _queued(self, data: bytes, event: Event | None) -> None:
        if self.gone:
            return
        tail = self._queue[-1] if self._queue and self._behind and event else None
        token = tail.joining(event) if tail is not None and event is not None else None
        refusal = self._refusal(len(data), frames=0 if token else 1)
        if refusal is not None:
            self._drop(refusal)
            return
        self._hold(len(data))
        if tail is not None and token is not None:
            tail.join(token, len(data))
            return
        self._queue.append(_Waiting(data, event))
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
                waiting = self._queue.popleft()  # still counted until written
                async with asyncio.timeout(self._send_timeout):
                    # uvicorn's send returns at once unless the client is behind: only then
                    # can anything be queued while this waits.
                    self._behind = True
                    try:
                        await self._socket.send_text(waiting.frame())
                    finally:
                        self._behind = False
                self._written(waiting.size)
        except TimeoutError:
            self._drop("send_timeout")
        except _GONE:
            self._end()  # the client went away; its turns go on without it
        finally:
            self._writer = None

    def _refusal(self, size: int, frames: int) -> str | None:
        """Why `size` more bytes in `frames` more frames may not be queued, if they may not."""
        if len(self._queue) + frames > self._max_frames:
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
