"""Two sockets of one user, a sender and a follower, on one server or on two instances
sharing the database; and reading a reply's frames up to its nth token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

LONG = " ".join(f"word{i}" for i in range(40))


@asynccontextmanager
async def sender_and_follower(
    settings: Settings, where: Literal["same", "other"]
) -> AsyncIterator[tuple[ChatClient, ChatClient]]:
    """The sender's socket, and the follower's on the same server or on another one."""
    async with serve_threadline(settings) as first:
        if where == "same":
            async with connect(first, "alice") as sender, connect(first, "alice") as follower:
                yield sender, follower
            return
        async with (
            serve_threadline(settings) as second,
            connect(first, "alice") as sender,
            connect(second, "alice") as follower,
        ):
            yield sender, follower


async def frames_to_token(chat: ChatClient, count: int) -> list[Frame]:
    """Frames up to and including the `count`th token."""
    frames: list[Frame] = []
    while sum(f["type"] == "token" for f in frames) < count:
        frames.append(await chat.receive(within=20))
    return frames
