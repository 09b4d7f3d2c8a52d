"""A WebSocket client that stops reading, as a frozen browser tab or a stuck proxy would.

It speaks WebSocket over a raw socket with a tiny receive buffer (websockets' sans-I/O
protocol does the framing), so once it stops reading, the server's writes back up as they
would behind a real client that does not read.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri


class StalledClient:
    """Sends frames; reads nothing until asked to drain what piled up."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self._sock = sock
        self._protocol = protocol

    async def send(self, **frame: Any) -> None:
        """Send `frame` as a JSON text frame."""
        self._protocol.send_text(msgspec.json.encode(frame))
        await self._flush()

    async def drain(self, within: float = 30) -> tuple[list[dict[str, Any]], int | None]:
        """Read everything the server sent until it closed: the frames and the close code."""
        frames: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            while self._protocol.state is not State.CLOSED:
                data = await loop.sock_recv(self._sock, 65536)
                if data:
                    self._protocol.receive_data(data)
                else:
                    self._protocol.receive_eof()
                for event in self._protocol.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                        frames.append(msgspec.json.decode(event.data))
                await self._flush()
        close = self._protocol.close_rcvd
        return frames, close.code if close else None

    async def until(self, kind: str, within: float = 30) -> list[dict[str, Any]]:
        """Read, at last, the frames up to and including the first of type `kind`.

        Frames read past it in the same chunk are left out.
        """
        frames: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            while kind not in (types := [f["type"] for f in frames]):
                data = await loop.sock_recv(self._sock, 65536)
                if not data:
                    raise ConnectionError(f"closed before a {kind!r} frame")
                self._protocol.receive_data(data)
                for event in self._protocol.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                        frames.append(msgspec.json.decode(event.data))
                await self._flush()
        return frames[: types.index(kind) + 1]

    async def _flush(self) -> None:
        data = b"".join(self._protocol.data_to_send())
        if data:
            await asyncio.get_running_loop().sock_sendall(self._sock, data)


@asynccontextmanager
async def stalled_client(
    address: str, user_id: str, receive_buffer: int = 4096
) -> AsyncIterator[StalledClient]:
    """Open a socket to `/ws/{user_id}` whose receive buffer holds only a few kilobytes."""
    host, port = address.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connecting: it sets the window.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (host, int(port)))
        # No bound on what it reads at last: a reply's `message` frame holds the whole reply.
        protocol = ClientProtocol(parse_uri(f"ws://{address}/ws/{user_id}"), max_size=None)
        protocol.send_request(protocol.connect())
        client = StalledClient(sock, protocol)
        await client._flush()
        while protocol.state is State.CONNECTING:
            protocol.receive_data(await loop.sock_recv(sock, 4096))
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
        yield client
    finally:
        sock.close()
