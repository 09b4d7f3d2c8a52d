"""On one server: a second socket follows a conversation (subscribe), a reconnecting one
picks a reply up where it left it (resume), and every socket of the user hears of changes
to their conversations."""

from __future__ import annotations

import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(30))


async def test_a_subscribed_socket_gets_the_same_frames_as_the_one_that_asked(
    settings: Settings,
) -> None:
    async with (
        serve_threadline(settings) as address,
        connect(address, "alice") as sender,
        connect(address, "alice") as follower,
    ):
        conversation_id = (await sender.turn("start")).ack["conversation_id"]
        await follower.send(type="subscribe", conversation_id=conversation_id)
        await follower.history(conversation_id)  # answered after the subscription took
        await sender.send(message="again", conversation_id=conversation_id)
        sent = await sender.until("message")
        seen = await follower.until("message")
        await follower.send(type="unsubscribe", conversation_id=conversation_id)
        await follower.history(conversation_id)
        await sender.turn("once more", conversation_id)
        after = await follower.history(conversation_id)  # nothing of that turn came first

    assert seen == sent
    assert sent[0]["type"] == "ack"
    assert after[-1]["content"].endswith("once more")


async def test_resume_on_the_same_server_continues_after_the_last_seq(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.03)
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as before:
            await before.send(message=LONG)
            conversation_id = (await before.receive())["conversation_id"]
            had = [await before.receive() for _ in range(3)]
        async with connect(address, "alice") as after:
            await after.send(type="resume", conversation_id=conversation_id, after_seq=3)
            rest = await after.until("message")

    tokens = [*had, *rest[:-1]]
    assert [t["seq"] for t in tokens] == list(range(1, len(tokens) + 1))
    assert "".join(t["delta"] for t in tokens) == rest[-1]["content"] == f"Reply 1: {LONG}"


async def test_sidebar_events_reach_every_socket_of_the_user_and_no_other(
    settings: Settings,
) -> None:
    async with (
        serve_threadline(settings) as address,
        connect(address, "alice") as chat,
        connect(address, "alice") as sidebar,
        connect(address, "bob") as bob,
    ):
        conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        await sidebar.history(conversation_id)  # the events came before this answer
        bobs = (await bob.turn("mine")).ack["conversation_id"]  # after alice's events

    kinds = [(e["event"], e["conversation_id"]) for e in sidebar.events]
    assert kinds[:2] == [("created", conversation_id), ("updated", conversation_id)]
    assert sidebar.events[1]["updated_at"] >= sidebar.events[0]["updated_at"]
    assert chat.events[0] == sidebar.events[0]  # the socket that asked hears them too
    assert bob.events
    assert {e["conversation_id"] for e in bob.events} == {bobs}
