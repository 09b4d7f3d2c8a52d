"""A socket that follows a running reply (subscribed, or resumed after a reload) and stops
it gets each of the reply's frames once: on the server running the turn, and on another
instance sharing the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(40))


@asynccontextmanager
async def _sockets(
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


async def _tokens(chat: ChatClient, count: int) -> list[Frame]:
    """Frames up to and including the `count`th token."""
    frames: list[Frame] = []
    while sum(f["type"] == "token" for f in frames) < count:
        frames.append(await chat.receive(within=20))
    return frames


def _seqs(frames: list[Frame], reply_id: str) -> list[int]:
    return [f["seq"] for f in frames if "seq" in f and f["message_id"] == reply_id]


@pytest.mark.parametrize("where", ["same", "other"])
@pytest.mark.parametrize("following", ["subscribe", "resume"])
async def test_a_follower_that_stops_the_reply_gets_each_seq_once(
    settings: Settings,
    fake_groq: FakeGroq,
    where: Literal["same", "other"],
    following: Literal["subscribe", "resume"],
) -> None:
    async with _sockets(settings, where) as (sender, follower):
        conversation_id = (await sender.turn("start")).ack["conversation_id"]
        if following == "subscribe":
            await _subscribe(follower, conversation_id)
        fake_groq.default = Fault(token_delay=0.05)
        await sender.send(message=LONG, conversation_id=conversation_id)
        if following == "resume":  # a reload mid-reply
            await _tokens(sender, 3)
            await follower.send(type="resume", conversation_id=conversation_id, after_seq=0)
        frames = await _tokens(follower, 3)
        await follower.send(type="stop", conversation_id=conversation_id)
        frames += await follower.until("message", within=20)
        fake_groq.default = Fault()
        stopped = (await sender.until("message", within=20))[-1]
        if following == "resume":
            await _subscribe(follower, conversation_id, frames)
        # The next turn's frames reach the follower after anything of the stopped one.
        await sender.send(message="next", conversation_id=conversation_id)
        frames += await follower.until("message", within=20)
        while frames[-1]["message_id"] == stopped["message_id"]:
            frames += await follower.until("message", within=20)

    assert stopped["stopped"] is True
    seqs = _seqs(frames, stopped["message_id"])
    assert seqs == list(range(1, len(seqs) + 1))  # each once, none missing
    assert seqs[-1] == stopped["seq"]
    replies = [f["message_id"] for f in frames if f["type"] == "message"]
    assert replies == [stopped["message_id"], frames[-1]["message_id"]]
    assert _seqs(frames, frames[-1]["message_id"]) == list(range(1, frames[-1]["seq"] + 1))


async def _subscribe(
    chat: ChatClient, conversation_id: str, frames: list[Frame] | None = None
) -> None:
    """Subscribe, and wait until it took; frames that come meanwhile go to `frames`."""
    await chat.send(type="subscribe", conversation_id=conversation_id)
    await chat.send(type="history", conversation_id=conversation_id)
    answered = await chat.until("history", within=20)
    if frames is not None:
        frames += answered[:-1]
