"""Token frames coalesce behind a socket that reads slower than the reply streams; a
socket that keeps up gets one frame per token. Over real sockets."""

from __future__ import annotations

import anyio
import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.stalled import stalled_client
from tests.wsclient import connect
from threadline.settings import Settings

# A slow reader's frames back up only past the kernel's buffers: keep other servers away.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("one_at_a_time")]

# 800 tokens of 10 KB: 8 MB of token frames, more than the kernel's socket buffers (up to
# 4 MB here) hold between the server and a client that does not read yet.
LONG = " ".join(f"{n:03}" + "x" * 10_000 for n in range(800))


@pytest.fixture
def roomy(settings: Settings) -> Settings:
    # The slow tab is not dropped for a write that waits while it does not read.
    return msgspec.structs.replace(
        settings, max_message_bytes=16 * 1024 * 1024, socket_send_timeout=120
    )


async def test_a_slow_reader_gets_fewer_token_frames_with_the_same_text(
    roomy: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(roomy) as address,
        connect(address, "alice") as laptop,
        # A window of 1 MB: once it reads, it takes the 16 MB (tokens, then the whole reply)
        # at loopback speed; 4 MB of tokens still wait in the kernel and in the server.
        stalled_client(address, "alice", receive_buffer=1024 * 1024) as slow_tab,
    ):
        conversation_id = (await laptop.turn("hi")).ack["conversation_id"]
        await laptop.send(type="subscribe", conversation_id=conversation_id)
        # Tokens a millisecond apart, as a model streams them: the laptop keeps up.
        fake_groq.faults.append(Fault(token_delay=0.001))
        await slow_tab.send(message=LONG, conversation_id=conversation_id)
        kept_up = await laptop.until("message", within=120)
        await anyio.sleep(0.5)  # the reply is over; the slow tab reads only now
        caught_up = await slow_tab.until("message", within=120)

    fast = [f for f in kept_up if f["type"] == "token"]
    slow = [f for f in caught_up if f["type"] == "token"]
    reply = f"Reply 2: {LONG}"
    # The socket that kept up: a frame per token, numbered 1, 2, 3, ...
    assert "".join(f["delta"] for f in fast) == reply
    assert len(fast) == len(reply.split(" "))
    assert [f["seq"] for f in fast] == list(range(1, len(fast) + 1))
    # The one that fell behind: the same text in fewer frames, each numbered by its last
    # token, so a resume after the last seq it saw misses nothing and repeats nothing.
    assert "".join(f["delta"] for f in slow) == reply
    assert len(slow) < len(fast)
    seqs = [f["seq"] for f in slow]
    assert seqs == sorted(set(seqs))
    assert seqs[-1] == fast[-1]["seq"]
    assert caught_up[-1]["content"] == reply
    assert caught_up[-1]["seq"] == kept_up[-1]["seq"]
