"""A TCP proxy whose connections a test can cut, as a network drop would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Proxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` drops every open connection."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.connections = 0

    async def cut(self) -> None:
        """Close both sides of every connection at once, with no WebSocket goodbye."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._forward(reader, upstream_writer), self._forward(upstream_reader, writer)
        )


@asynccontextmanager
async def proxy(target: str) -> AsyncIterator[Proxy]:
    """A proxy to `target` (`host:port`) on a free port, for the block's duration."""
    forwarding = Proxy(target)
    server = await asyncio.start_server(forwarding._accept, "127.0.0.1", 0)
    forwarding.port = server.sockets[0].getsockname()[1]
    async with server:
        yield forwarding
        await forwarding.cut()
