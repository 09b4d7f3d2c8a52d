"""A turn's events reach a streaming response in order, never holding the turn, and the
edge learns when a client left before the end (over a real socket, through uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest
import uvicorn
from litestar import Litestar, get
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from threadline.chat.events import Event, Failed, Token
from threadline.transport.event_stream import EventStream

pytestmark = pytest.mark.anyio


def _render(event: Event) -> Iterable[ServerSentEventMessage]:
    if isinstance(event, Token):
        yield ServerSentEventMessage(data=event.delta, event="token", id=str(event.seq))


def _token(n: int) -> Token:
    return Token("c", "m", f"t{n}", seq=n)


async def _drain(stream: EventStream) -> list[Event | None]:
    return [event async for event in stream.events()]


async def test_events_come_in_order_until_the_end_then_the_stream_finishes() -> None:
    stream = EventStream()
    for n in range(1, 4):
        await stream(_token(n))
    stream.end()
    await stream(_token(4))  # after the end: nothing more is said
    assert await _drain(stream) == [_token(1), _token(2), _token(3)]


async def test_a_client_far_behind_is_dropped_and_its_stream_ends() -> None:
    stream = EventStream(max_events=3)
    for n in range(1, 5):
        await stream(_token(n))
    assert stream.dropped
    assert stream.ended
    assert await _drain(stream) == []


async def test_a_quiet_stream_says_so_with_heartbeats() -> None:
    stream = EventStream(heartbeat=0.01)
    events = stream.events()
    assert await anext(events) is None
    await stream(Failed("internal_error", "x", retryable=True))
    assert isinstance(await anext(events), Failed)


async def test_a_render_may_read_before_it_says_anything() -> None:
    async def render(event: Event) -> AsyncIterator[ServerSentEventMessage]:
        await asyncio.sleep(0)  # as an edge reads a run's state at its end
        yield ServerSentEventMessage(data=type(event).__name__, event="read")

    stream = EventStream()
    await stream(_token(1))
    stream.end()
    said = [message.data async for message in stream.messages(render)]
    assert said == ["Token"]
    assert stream.finished


class _Server:
    """A one-route app on uvicorn whose response is `stream`'s; `gone` set by `on_gone`."""

    def __init__(self) -> None:
        self.stream = EventStream()
        self.gone = asyncio.Event()

        @get("/events")
        async def events() -> ServerSentEvent:
            return self.stream.response(_render, on_gone=self._on_gone)

        self.app = Litestar([events])

    async def _on_gone(self) -> None:
        self.gone.set()


@contextlib.asynccontextmanager
async def _serving(server: _Server) -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(server.app, log_level="warning", lifespan="off")
        runner = uvicorn.Server(config)
        task = asyncio.create_task(runner.serve(sockets=[sock]))
        while not runner.started:  # noqa: ASYNC110 - uvicorn tells it by a flag only
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            runner.should_exit = True
            await task


async def test_a_client_that_stays_to_the_end_is_not_gone() -> None:
    server = _Server()
    async with _serving(server) as url, httpx.AsyncClient() as client:
        await server.stream(_token(1))
        server.stream.end()
        response = await client.get(f"{url}/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: token" in response.text
    assert "data: t1" in response.text
    assert server.stream.finished
    assert not server.gone.is_set()


async def test_a_client_that_leaves_mid_stream_is_found_gone() -> None:
    server = _Server()
    async with _serving(server) as url, httpx.AsyncClient() as client:
        async with client.stream("GET", f"{url}/events") as response:
            await server.stream(_token(1))
            lines = response.aiter_lines()
            while "t1" not in await anext(lines):
                pass
        async with asyncio.timeout(10):
            await server.gone.wait()
    assert not server.stream.finished
    assert server.stream.ended


async def test_what_follows_the_last_event_comes_after_it_unless_the_client_was_dropped() -> None:
    said = ["after", "the", "end"]

    def last() -> Iterable[ServerSentEventMessage]:
        return [ServerSentEventMessage(data=word) for word in said]

    stream = EventStream()
    await stream(_token(1))
    stream.end()
    messages = [m.data async for m in stream.messages(_render, last=last)]
    assert messages == ["t1", *said]
    assert stream.finished

    dropped = EventStream(max_events=1)
    await dropped(_token(1))
    await dropped(_token(2))
    assert [m.data async for m in dropped.messages(_render, last=last)] == []
