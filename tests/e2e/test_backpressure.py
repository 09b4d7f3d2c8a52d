"""Backpressure: a client that stops reading never holds up a turn, another client or
shutdown; and no client can queue unbounded work."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import anyio
import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.stalled import stalled_client
from tests.wsclient import connect
from threadline.settings import Settings

# Its timing (a 0.5 s send timeout) must not compete with three server processes.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("one_at_a_time")]

# A reply of 80 tokens of 100 KB each: 8 MB of token frames, more than the kernel's socket
# buffers (up to 4 MB here) between the server and a client that does not read.
FLOOD = " ".join(f"{n:02}" + "x" * 100_000 for n in range(80))
WORDS = " ".join(f"w{n:04}" for n in range(100))


@pytest.fixture
def impatient(settings: Settings) -> Settings:
    return msgspec.structs.replace(
        settings, max_message_bytes=16 * 1024 * 1024, socket_send_timeout=0.5, socket_send_queue=8
    )


async def test_a_client_that_stops_reading_does_not_hold_up_its_conversation(
    impatient: Settings,
) -> None:
    async with (
        serve_threadline(impatient) as address,
        connect(address, "alice") as laptop,
        stalled_client(address, "alice") as frozen_tab,
        httpx.AsyncClient(timeout=30) as http,
    ):
        conversation_id = (await laptop.turn("hi")).ack["conversation_id"]
        await frozen_tab.send(message=FLOOD, conversation_id=conversation_id)
        await anyio.sleep(0.5)  # the flood's turn starts first
        await laptop.send(message="are you there?", conversation_id=conversation_id)
        frames = await laptop.until("message", within=30)
        url = f"http://{address}/users/alice/conversations/{conversation_id}"
        stored = (await http.get(url)).json()["messages"]
        piled_up, close_code = await frozen_tab.drain()

    assert frames[-1]["content"].endswith("are you there?")
    # The flood's turn went on without its reader, and was stored whole.
    assert [m["content"] for m in stored][2:4] == [FLOOD, f"Reply 2: {FLOOD}"]
    tokens = [f for f in piled_up if f["type"] == "token"]
    assert 0 < len(tokens) < 80  # it was cut off part way
    assert close_code == 1008


async def test_shutdown_is_not_held_up_by_a_client_that_stops_reading(
    impatient: Settings, fake_groq: FakeGroq
) -> None:
    hasty = msgspec.structs.replace(impatient, shutdown_grace=1.0)
    async with AsyncExitStack() as still_open:  # the frozen tab outlives the server
        async with serve_threadline(hasty) as address:
            async with connect(address, "alice") as chat:
                conversation_id = (await chat.turn("hi")).ack["conversation_id"]
            fake_groq.faults.append(Fault(token_delay=0.001))
            tab = await still_open.enter_async_context(stalled_client(address, "alice"))
            # One turn streams into a full socket, another waits behind it, when the server
            # is told to stop.
            await tab.send(message=FLOOD, conversation_id=conversation_id)
            await tab.send(message="and then?", conversation_id=conversation_id)
            with anyio.fail_after(10):
                while len(fake_groq.requests) < 2:  # noqa: ASYNC110 - polls a server
                    await anyio.sleep(0.05)
            await anyio.sleep(1.0)
            stopping = time.monotonic()
        stopped_after = time.monotonic() - stopping

    assert stopped_after < hasty.shutdown_grace + 5


async def test_a_conversation_takes_only_so_many_waiting_messages(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    capped = msgspec.structs.replace(settings, max_queued_turns=2)
    async with serve_threadline(capped) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hi")).ack["conversation_id"]
        fake_groq.faults.append(Fault(token_delay=0.05, only_for=WORDS))
        await chat.send(message=WORDS, conversation_id=conversation_id)
        await chat.until("token")
        positions = []
        for text in ("one", "two"):
            await chat.send(message=text, conversation_id=conversation_id)
            positions.append((await chat.until("queued"))[-1]["position"])
        await chat.send(message="three", conversation_id=conversation_id)
        refused = (await chat.until("error"))[-1]  # tokens of the running reply come between
        await chat.send(type="stop", conversation_id=conversation_id)
        for _ in range(3):
            await chat.until("message", within=20)
        history = await chat.history(conversation_id)

    assert positions == [1, 2]
    assert refused["code"] == "conversation_busy"
    assert refused["retryable"] is True
    assert "2 more messages already wait" in refused["detail"]
    assert [m["content"] for m in history if m["role"] == "user"] == [
        "hi",
        WORDS,
        "one",
        "two",
    ]


async def test_a_user_has_only_so_many_turns_at_once_across_conversations(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    capped = msgspec.structs.replace(settings, max_turns_per_user=2)
    fake_groq.default = Fault(token_delay=0.05)
    async with (
        serve_threadline(capped) as address,
        connect(address, "alice") as chat,
        connect(address, "bob") as bob,
        httpx.AsyncClient() as http,
    ):
        for _ in range(2):
            await chat.send(message=WORDS)
            await chat.until("ack")
        await chat.send(message="a third conversation")
        refused = (await chat.until("error"))[-1]  # the two replies stream meanwhile
        others = await bob.turn("bob is not limited by alice")
        listed = (await http.get(f"http://{address}/users/alice/conversations")).json()

    assert refused["code"] == "too_many_turns"
    assert refused["retryable"] is True
    assert others.reply["content"].endswith("bob is not limited by alice")
    assert len(listed["items"]) == 2  # the refused message started no conversation
