"""Notices between the server processes that share the database: PostgreSQL LISTEN/NOTIFY.

One connection per process listens (outside the pool: a LISTEN must stay on its session),
and reconnects by itself after an outage, then asks its owner to catch up on what it may
have missed. Publishing goes through the shared pool, one NOTIFY at a time from one task:
PostgreSQL delivers notices in the order their transactions commit, so what one process
publishes arrives everywhere in the order it was published.

A notice is bytes (the caller's encoding, without newlines). Notices queued together go
in one NOTIFY, so a fast token stream costs one statement per batch, not per token. One
larger than NOTIFY's 8,000-byte limit goes in numbered chunks, joined again on arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

from psycopg import AsyncConnection

from threadline.storage.database import Pool

__all__ = ("CHANNEL", "Notices", "chunks")

logger = logging.getLogger(__name__)

CHANNEL = "threadline"
# Below NOTIFY's 8,000 bytes, with room for the header line.
_PAYLOAD_BYTES = 7_600
_QUEUE_LIMIT = 100_000
_RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

Handler = Callable[[str, bytes], Awaitable[None]]  # (sending process, notice)


def chunks(data: bytes, size: int = _PAYLOAD_BYTES) -> list[str]:
    """`data` (UTF-8) cut into text pieces of at most `size` bytes, never inside a character."""
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        pieces.append(data[start:end].decode())
        start = end
    return pieces


class Notices:
    """This process's notices: published in order, received from every other process."""

    def __init__(
        self,
        url: str,
        pool: Pool,
        process_id: str,
    ) -> None:
        self._url = url
        self._pool = pool
        self.process_id = process_id
        self._outgoing: asyncio.Queue[tuple[bytes, asyncio.Event | None]] = asyncio.Queue(
            _QUEUE_LIMIT
        )
        self._partial: dict[tuple[str, str], list[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()
        self.sent = 0  # NOTIFY statements sent, for the bench

    async def start(self, on_notice: Handler, on_reconnect: Callable[[], Awaitable[None]]) -> None:
        """Start listening and publishing; returns once the first LISTEN is in place.

        Args:
            on_notice: Called with each notice, from every process (this one's too).
            on_reconnect: Called once listening again after an outage (notices were missed).
        """
        listening = self._listen(on_notice, on_reconnect)
        self._tasks = [asyncio.create_task(listening), asyncio.create_task(self._publish())]
        async with asyncio.timeout(30):
            await self.listening.wait()

    async def close(self) -> None:
        """Send what is queued (briefly), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self._outgoing.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def publish(self, notice: bytes) -> None:
        """Queue `notice` for every process (this one too); never waits."""
        self._queue(notice, None)

    async def published(self, notice: bytes, within: float = 2.0) -> None:
        """Publish `notice` and wait (up to `within` seconds) until it is sent."""
        sent = asyncio.Event()
        self._queue(notice, sent)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await sent.wait()

    def _queue(self, notice: bytes, sent: asyncio.Event | None) -> None:
        try:
            self._outgoing.put_nowait((notice, sent))
        except asyncio.QueueFull:
            logger.warning("notices.dropped", extra={"reason": "queue full"})

    # Publishing ---------------------------------------------------------------------------

    async def _publish(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            size = len(batch[0][0])
            while not self._outgoing.empty() and size < _PAYLOAD_BYTES:
                batch.append(self._outgoing.get_nowait())
                size += len(batch[-1][0]) + 1
            try:
                await self._send(self._payloads([notice for notice, _ in batch]))
            except Exception as error:  # noqa: BLE001 - the next batch tries again
                logger.warning("notices.publish_failed", extra={"error": type(error).__name__})
                await asyncio.sleep(0.1)
            for _, sent in batch:
                if sent is not None:
                    sent.set()
                self._outgoing.task_done()

    def _payloads(self, batch: list[bytes]) -> list[str]:
        """NOTIFY payloads for a batch: whole notices joined by newlines, or one in chunks."""
        payloads: list[str] = []
        whole: list[bytes] = []
        for notice in batch:
            if len(notice) > _PAYLOAD_BYTES:
                pieces = chunks(notice)
                key = secrets.token_hex(4)
                payloads.extend(
                    f"{self.process_id} {key} {i} {len(pieces)}\n{piece}"
                    for i, piece in enumerate(pieces)
                )
            elif sum(len(n) + 1 for n in whole) + len(notice) > _PAYLOAD_BYTES:
                payloads.append(self._whole(whole))
                whole = [notice]
            else:
                whole.append(notice)
        if whole:
            payloads.append(self._whole(whole))
        return payloads

    def _whole(self, notices: list[bytes]) -> str:
        return f"{self.process_id}\n" + b"\n".join(notices).decode()

    async def _send(self, payloads: list[str]) -> None:
        async with self._pool.connection() as conn:
            for payload in payloads:
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                self.sent += 1

    # Listening ----------------------------------------------------------------------------

    async def _listen(
        self, on_notice: Handler, on_reconnect: Callable[[], Awaitable[None]]
    ) -> None:
        failures = 0
        while True:
            try:
                async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if failures:
                        logger.info("notices.reconnected")
                        self._partial.clear()  # their other pieces went by meanwhile
                        await on_reconnect()  # notices sent meanwhile were lost
                    failures = 0
                    self.listening.set()
                    async for notify in conn.notifies():
                        await self._receive(notify.payload, on_notice)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - reconnect, whatever broke
                self.listening.clear()
                delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS) - 1)]
                failures += 1
                lost = {"error": type(error).__name__, "retry_in": delay}
                logger.warning("notices.listener_lost", extra=lost)
                await asyncio.sleep(delay)

    async def _receive(self, payload: str, on_notice: Handler) -> None:
        header, _, body = payload.partition("\n")
        sender, *chunk = header.split(" ")
        if chunk:
            body = self._join(sender, chunk, body)
            if not body:
                return
        for notice in body.encode().split(b"\n"):
            try:
                await on_notice(sender, notice)
            except Exception:
                logger.exception("notices.handler_failed")

    def _join(self, sender: str, chunk: list[str], piece: str) -> str:
        """Collect a chunk; the whole notice once its last chunk arrives, else ''."""
        key, index, count = chunk[0], int(chunk[1]), int(chunk[2])
        pieces = self._partial.setdefault((sender, key), [])
        if index != len(pieces):  # a chunk was lost (the listener reconnected): give up
            self._partial.pop((sender, key), None)
            return ""
        pieces.append(piece)
        if len(pieces) < count:
            return ""
        del self._partial[(sender, key)]
        return "".join(pieces)
