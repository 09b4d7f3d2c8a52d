"""A small WebSocket test client speaking Threadline's protocol over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import msgspec
from httpx_ws import AsyncWebSocketSession, aconnect_ws

Frame = dict[str, Any]


@dataclass
class Turn:
    """Everything the server sent for one accepted message."""

    ack: Frame
    tokens: list[Frame]
    reply: Frame

    @property
    def streamed(self) -> str:
        """The token deltas joined together."""
        return "".join(t["delta"] for t in self.tokens)


class ChatClient:
    """Sends frames and reads them back, each read bounded by a timeout."""

    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        # `context` frames and sidebar (`conversation`) events, informational, are
        # collected here rather than returned.
        self.contexts: list[Frame] = []
        self.events: list[Frame] = []

    async def send(self, **frame: Any) -> None:
        """Send `frame` as a JSON text frame."""
        await self.ws.send_text(msgspec.json.encode(frame).decode())

    async def receive(self, within: float = 10) -> Frame:
        """The next frame (other than `context` and `conversation`), within `within` s."""
        with anyio.fail_after(within):
            while True:
                frame: Frame = msgspec.json.decode(await self.ws.receive_text())
                if frame["type"] == "context":
                    self.contexts.append(frame)
                elif frame["type"] == "conversation":
                    self.events.append(frame)
                else:
                    return frame

    async def turn(self, message: str, conversation_id: str | int | None = None) -> Turn:
        """Send a message and collect its ack, tokens and final reply."""
        frame: Frame = {"message": message}
        if conversation_id is not None:
            frame["conversation_id"] = conversation_id
        await self.send(**frame)
        return await self.collect()

    async def collect(self) -> Turn:
        """Read one turn's frames; fails on an error frame."""
        ack = await self.receive()
        assert ack["type"] == "ack", ack
        tokens = []
        while (frame := await self.receive())["type"] == "token":
            tokens.append(frame)
        assert frame["type"] == "message", frame
        if not frame["stopped"]:
            # A finished reply is followed at once by the turn's context frame.
            with anyio.fail_after(10):
                context = msgspec.json.decode(await self.ws.receive_text())
            assert context["type"] == "context", context
            self.contexts.append(context)
        return Turn(ack, tokens, frame)

    async def until(self, kind: str, within: float = 10) -> list[Frame]:
        """Read frames up to and including the first of type `kind`."""
        return await self.until_any(kind, within=within)

    async def until_any(self, *kinds: str, within: float = 10) -> list[Frame]:
        """Read frames up to and including the first whose type is one of `kinds`."""
        frames = [await self.receive(within)]
        while frames[-1]["type"] not in kinds:
            frames.append(await self.receive(within))
        return frames

    async def history(
        self, conversation_id: str, after: str | None = None, limit: int = 500
    ) -> list[Frame]:
        """The conversation's messages (up to `limit` of them), via a `history` frame."""
        frame: Frame = {"type": "history", "conversation_id": conversation_id, "limit": limit}
        if after is not None:
            frame["after_message_id"] = after
        await self.send(**frame)
        reply = await self.receive()
        assert reply["type"] == "history", reply
        messages: list[Frame] = reply["messages"]
        return messages

    async def error(self, **frame: Any) -> Frame:
        """Send `frame` and return the error frame it must produce."""
        await self.send(**frame)
        reply = await self.receive()
        assert reply["type"] == "error", reply
        return reply


@asynccontextmanager
async def connect(
    address: str, user_id: str, *, headers: dict[str, str] | None = None, query: str = ""
) -> AsyncIterator[ChatClient]:
    """Open a socket to `/ws/{user_id}` on a Threadline server at `address`."""
    url = f"ws://{address}/ws/{user_id}" + (f"?{query}" if query else "")
    async with (
        httpx.AsyncClient() as http,
        # A copy: httpx-ws adds its upgrade headers to the dict it is given.
        aconnect_ws(
            url, http, session_class=AsyncWebSocketSession, headers=dict(headers or {})
        ) as ws,
    ):
        yield ChatClient(ws)


async def connections(address: str, user_id: str) -> int | None:
    """The user's open sockets as the status endpoint totals them; None if it fails."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/ws/users/{user_id}/status", timeout=10)
    return int(response.json()["connections"]) if response.status_code == 200 else None
