"""A socket that subscribes to a conversation and then resumes or stops its running reply
(as the page does when it opens one: `subscribe`, then `resume` from `after_seq` 0) gets
each of the reply's frames once and in order, whether the reply began before or after the
subscription, and whether it runs on the socket's server or on another instance."""

from __future__ import annotations

from typing import Literal

import anyio
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.following import LONG, frames_to_token, sender_and_follower
from tests.wsclient import ChatClient, Frame
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def _subscribe(chat: ChatClient, conversation_id: str) -> list[Frame]:
    """Subscribe, and wait until it took; returns the frames that came meanwhile."""
    await chat.send(type="subscribe", conversation_id=conversation_id)
    await chat.send(type="history", conversation_id=conversation_id)
    return (await chat.until("history", within=20))[:-1]


def _of(frames: list[Frame], reply_id: str) -> list[Frame]:
    return [f for f in frames if "seq" in f and f.get("message_id") == reply_id]


@pytest.mark.parametrize("where", ["same", "other"])
@pytest.mark.parametrize("then", ["resume", "stop"])
@pytest.mark.parametrize("subscribed", ["before the reply", "mid-reply"])
async def test_a_subscribed_socket_that_resumes_or_stops_gets_each_seq_once_in_order(
    settings: Settings,
    fake_groq: FakeGroq,
    where: Literal["same", "other"],
    then: Literal["resume", "stop"],
    subscribed: Literal["before the reply", "mid-reply"],
) -> None:
    async with sender_and_follower(settings, where) as (sender, follower):
        conversation_id = (await sender.turn("start")).ack["conversation_id"]
        frames: list[Frame] = []
        if subscribed == "before the reply":
            frames += await _subscribe(follower, conversation_id)
        fake_groq.default = Fault(token_delay=0.05)
        await sender.send(message=LONG, conversation_id=conversation_id)
        await frames_to_token(sender, 3)
        if subscribed == "mid-reply":
            frames += await _subscribe(follower, conversation_id)
        # Tokens stream after the subscription took and before the second frame.
        await frames_to_token(sender, 3)
        if then == "resume":
            await follower.send(type="resume", conversation_id=conversation_id, after_seq=0)
        else:
            await follower.send(type="stop", conversation_id=conversation_id)
        frames += await follower.until("message", within=20)
        fake_groq.default = Fault()
        reply = frames[-1]
        # The next turn's frames reach the follower after anything of that reply.
        await sender.send(message="next", conversation_id=conversation_id)
        frames += await follower.until("message", within=20)
        while frames[-1]["message_id"] == reply["message_id"]:
            frames += await follower.until("message", within=20)
        total = len(await follower.history(conversation_id))
        with anyio.fail_after(20):  # the next turn's context, which comes after its reply
            while total not in [c["messages_total"] for c in follower.contexts]:
                await follower.history(conversation_id)

    assert reply["stopped"] is (then == "stop")
    numbered = _of(frames, reply["message_id"])
    assert [f["seq"] for f in numbered] == list(range(1, reply["seq"] + 1))  # once, in order
    assert "".join(f["delta"] for f in numbered if f["type"] == "token") == reply["content"]
    replies = [f["message_id"] for f in frames if f["type"] == "message"]
    assert replies == [reply["message_id"], frames[-1]["message_id"]]
    after = _of(frames, frames[-1]["message_id"])
    assert [f["seq"] for f in after] == list(range(1, frames[-1]["seq"] + 1))
    # Each finished turn's context once (a stopped reply has none).
    totals = [c["messages_total"] for c in follower.contexts]
    assert totals == sorted(set(totals))
    assert len(totals) == (2 if then == "resume" else 1)
