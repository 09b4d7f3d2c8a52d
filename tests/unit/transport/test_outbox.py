"""The outbox counts the bytes it holds for a socket until they are written, and gives
them all back: written, or freed when the client is dropped."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import msgspec
import pytest
from litestar import WebSocket

from threadline.chat.events import Token
from threadline.transport.outbox import Outbox, SendBudget
from threadline.transport.websocket_frames import encode_bytes

pytestmark = pytest.mark.anyio


class _Client:
    """A socket whose client reads only once told to (Litestar's side of it)."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()
        self.received: list[bytes] = []
        self.closed: int | None = None

    async def send_text(self, data: bytes) -> None:
        await self.reading.wait()
        self.received.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = code


def _outbox(client: _Client, budget: SendBudget, max_bytes: int = 10_000) -> Outbox:
    socket = cast("WebSocket[Any, Any, Any]", client)
    return Outbox(socket, max_frames=100, max_bytes=max_bytes, budget=budget, send_timeout=30)


def _token(n: int, size: int = 1_000, message_id: str = "m") -> Token:
    return Token("c", message_id, "x" * size, seq=n)


def _replies(n: int, size: int = 1_000) -> list[Token]:
    """The first tokens of `n` replies: frames that never go out as one."""
    return [_token(1, size, message_id=f"m{k}") for k in range(n)]


async def test_bytes_waiting_count_until_written_then_are_given_back() -> None:
    budget, client = SendBudget(100_000), _Client()
    outbox = _outbox(client, budget)
    frames = _replies(3)
    for frame in frames:
        await outbox(frame)
    held = budget.used
    client.reading.set()
    await outbox.close(grace=5)

    assert held == sum(len(encode_bytes(f)) for f in frames)
    assert client.received == [encode_bytes(f) for f in frames]
    assert budget.used == 0
    assert client.closed is None


async def test_a_socket_over_its_bytes_is_dropped_and_its_frames_freed() -> None:
    budget, client, other_client = SendBudget(100_000), _Client(), _Client()
    outbox, other = _outbox(client, budget), _outbox(other_client, budget)
    await other(_token(1))
    for n in range(1, 12):  # 11 KB behind a client that does not read
        await outbox(_token(n))
    client.reading.set()
    await outbox.close(grace=5)

    assert outbox.dropped
    assert client.closed == 1008
    assert len(client.received) <= 1  # at most the write that was under way
    assert budget.used == len(encode_bytes(_token(1)))  # the other socket's frame alone
    assert not other.dropped


async def test_the_socket_whose_frame_would_pass_the_process_bound_is_dropped() -> None:
    budget = SendBudget(4_500)
    clients = [_Client() for _ in range(3)]
    outboxes = [_outbox(client, budget) for client in clients]
    for n in range(1, 3):
        for outbox in outboxes:
            await outbox(_token(n))  # each waits on one frame and queues a second
    held = budget.used
    for outbox in outboxes:
        await outbox.close(grace=0)

    # The second socket's second frame would have made 5 KB: it was dropped, and its
    # first frame freed, so the third socket's fit.
    assert [o.dropped for o in outboxes] == [False, True, False]
    assert held == 4 * len(encode_bytes(_token(1)))
    assert budget.used == 0


async def test_a_burst_longer_than_the_queue_reaches_a_client_that_reads() -> None:
    budget, client = SendBudget(10_000_000), _Client()
    client.reading.set()
    outbox = Outbox(
        cast("WebSocket[Any, Any, Any]", client),
        max_frames=8,
        max_bytes=1_000_000,
        budget=budget,
        send_timeout=30,
    )
    frames = _replies(100, size=10)  # a late listener's catch-up
    for frame in frames:
        await outbox(frame)
    await outbox.close(grace=5)

    assert not outbox.dropped
    assert client.received == [encode_bytes(f) for f in frames]
    assert budget.used == 0


async def test_a_write_that_waits_past_the_send_timeout_drops_the_client() -> None:
    budget, client = SendBudget(100_000), _Client()
    socket = cast("WebSocket[Any, Any, Any]", client)
    outbox = Outbox(socket, max_frames=100, max_bytes=10_000, budget=budget, send_timeout=0.05)
    dropped = asyncio.Event()
    outbox.when_dropped(dropped.set)
    await outbox(_token(1))
    await asyncio.wait_for(dropped.wait(), timeout=10)
    await outbox.close(grace=0)

    assert outbox.dropped
    assert client.closed == 1008
    assert budget.used == 0


async def test_tokens_waiting_behind_a_slow_client_go_out_as_one_frame() -> None:
    budget, client = SendBudget(100_000), _Client()
    outbox = _outbox(client, budget)
    tokens = [Token("c", "m", f"t{n} ", seq=n) for n in range(1, 7)]
    other = Token("c", "m2", "other", seq=1)
    for token in tokens[:4]:  # the first is being written when the others come
        await outbox(token)
        await asyncio.sleep(0)
    await outbox(other)  # another message's token ends the frame
    for token in tokens[4:]:
        await outbox(token)
    held = budget.used
    client.reading.set()
    await outbox.close(grace=5)

    frames = [msgspec.json.decode(data) for data in client.received]
    assert [(f["message_id"], f["delta"], f["seq"]) for f in frames] == [
        ("m", "t1 ", 1),
        ("m", "t2 t3 t4 ", 4),  # the last token's seq: a resume after it misses nothing
        ("m2", "other", 1),
        ("m", "t5 t6 ", 6),
    ]
    # Held as the separate frames would be, until written; then all given back.
    assert held == sum(len(encode_bytes(t)) for t in [*tokens, other])
    assert budget.used == 0


async def test_a_client_that_keeps_up_gets_a_frame_per_token_even_in_a_burst() -> None:
    budget, client = SendBudget(100_000), _Client()
    client.reading.set()
    outbox = _outbox(client, budget)
    tokens = [Token("c", "m", f"t{n} ", seq=n) for n in range(1, 21)]
    for token in tokens[:10]:
        await outbox(token)
        await asyncio.sleep(0)  # as a model's stream gives the loop a turn between tokens
    for token in tokens[10:]:  # then several at once, as a late listener's catch-up
        await outbox(token)
    await outbox.close(grace=5)

    assert client.received == [encode_bytes(t) for t in tokens]


async def test_tokens_join_only_up_to_a_frame_of_about_16_kb() -> None:
    budget, client = SendBudget(10_000_000), _Client()
    outbox = _outbox(client, budget, max_bytes=1_000_000)
    tokens = [_token(n, size=1_000) for n in range(1, 51)]
    await outbox(tokens[0])
    await asyncio.sleep(0)  # its write now waits for the client
    for token in tokens[1:]:
        await outbox(token)
    client.reading.set()
    await outbox.close(grace=5)

    frames = [msgspec.json.decode(data) for data in client.received]
    assert "".join(f["delta"] for f in frames) == "x" * 50_000
    assert [f["seq"] for f in frames] == sorted({f["seq"] for f in frames})
    assert frames[-1]["seq"] == 50
    assert all(len(data) < 18_000 for data in client.received)
    assert 4 <= len(frames) <= 6  # the first alone, then about 16 tokens a frame
