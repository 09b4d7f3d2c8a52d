"""A socket that follows a running reply (subscribed, or resumed after a reload) and stops
it gets each of the reply's frames once: on the server running the turn, and on another
instance sharing the database."""

from __future__ import annotations

from typing import Literal

import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.following import LONG, frames_to_token, sender_and_follower
from tests.wsclient import ChatClient, Frame
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


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
    async with sender_and_follower(settings, where) as (sender, follower):
        conversation_id = (await sender.turn("start")).ack["conversation_id"]
        if following == "subscribe":
            await _subscribe(follower, conversation_id)
        fake_groq.default = Fault(token_delay=0.05)
        await sender.send(message=LONG, conversation_id=conversation_id)
        if following == "resume":  # a reload mid-reply
            await frames_to_token(sender, 3)
            await follower.send(type="resume", conversation_id=conversation_id, after_seq=0)
        frames = await frames_to_token(follower, 3)
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
