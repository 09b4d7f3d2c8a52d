"""A turn's events on their way to one streaming HTTP response (server-sent events).

The HTTP edges (the LangGraph API's runs, AG-UI, the AI SDK's stream) each answer a request
with the events of a turn, translated into their protocol's messages. The turn hands each
event to an `EventStream` (it is a `Send`) and never waits on the client: events queue,
bounded, and the response reads them in order. A client that lets the queue overflow is
dropped, as a slow socket is (`outbox.py`): its stream ends and its turn carries on. When
the edge has what it needs (the reply, a failure), it calls `end()`: the response finishes
after what is queued.

Whether the client stayed to the end is known once the response is over (`finished`),
whatever way it ended: `response()` calls `on_gone` after a client left early (it closed
the connection, or was dropped), which is where an edge stops the run or lets it go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping

from litestar.background_tasks import BackgroundTask
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from threadline.chat.events import Event

__all__ = ("MAX_QUEUED_EVENTS", "EventStream", "Render")

logger = logging.getLogger(__name__)

# Events waiting for a client that reads slower than the turn writes: past this, it is
# dropped. A reply's tokens come far below it to a client that reads at all.
MAX_QUEUED_EVENTS = 4096
# A comment line this often while nothing is said (a run queued, or waiting on a tool),
# so that proxies keep the connection and a vanished client is found.
HEARTBEAT_SECONDS = 15.0

Render = Callable[[Event], Iterable[ServerSentEventMessage] | AsyncIterable[ServerSentEventMessage]]
"""An edge's translation of one event into its protocol's messages (none, one or more);
an async one where it must read something first (a LangGraph run's state at its end)."""


class EventStream:
    """Events queued by a turn for one response; `await stream(event)` never waits long."""

    def __init__(
        self,
        *,
        max_events: int = MAX_QUEUED_EVENTS,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._queue: deque[Event] = deque()
        self._max_events = max_events
        self._heartbeat = heartbeat
        self._ready = asyncio.Event()
        self._ended = False
        self.dropped = False
        # Set when the response wrote its last message: the client stayed to the end.
        self.finished = False

    async def __call__(self, event: Event) -> None:
        """Queue `event` for the response (the turn's `Send`); drop a client far behind."""
        if self._ended:
            return
        if len(self._queue) >= self._max_events:
            logger.warning("stream.dropped", extra={"reason": "queue_full"})
            self.dropped = True
            self._queue.clear()
            self.end()
            return
        self._queue.append(event)
        self._ready.set()

    def end(self) -> None:
        """Say nothing more: the response ends once it has written what is queued."""
        self._ended = True
        self._ready.set()

    @property
    def ended(self) -> bool:
        """Whether `end()` was called (or the client was dropped)."""
        return self._ended

    async def events(self) -> AsyncIterator[Event | None]:
        """The queued events in order until the end; `None` after a quiet `heartbeat`."""
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self._ended:
                return
            self._ready.clear()
            try:
                async with asyncio.timeout(self._heartbeat):
                    await self._ready.wait()
            except TimeoutError:
                yield None

    async def messages(
        self,
        render: Render,
        first: Iterable[ServerSentEventMessage] = (),
        last: Callable[[], Iterable[ServerSentEventMessage]] | None = None,
    ) -> AsyncIterator[ServerSentEventMessage]:
        """`first`, then each event as `render` translates it, with heartbeats between.

        `last()`, if given, says what follows the last event (a protocol's closing
        messages), unless the client was dropped.
        """
        for message in first:
            yield message
        async for event in self.events():
            if event is None:
                yield ServerSentEventMessage(data=None, comment="heartbeat")
                continue
            rendered = render(event)
            if isinstance(rendered, AsyncIterable):
                async for message in rendered:
                    yield message
            else:
                for message in rendered:
                    yield message
        if last is not None and not self.dropped:
            for message in last():
                yield message
        self.finished = not self.dropped

    def response(
        self,
        render: Render,
        *,
        first: Iterable[ServerSentEventMessage] = (),
        headers: Mapping[str, str] | None = None,
        on_gone: Callable[[], Awaitable[None]] | None = None,
        last: Callable[[], Iterable[ServerSentEventMessage]] | None = None,
    ) -> ServerSentEvent:
        """The streaming response; `on_gone` runs after it if the client left before the end."""
        background = BackgroundTask(self._after, on_gone) if on_gone is not None else None
        return ServerSentEvent(
            self.messages(render, first, last),
            headers=dict(headers or {}),
            background=background,
        )

    async def _after(self, on_gone: Callable[[], Awaitable[None]]) -> None:
        """Once the response is over: tell the edge if the client did not stay to the end."""
        if not self.finished:
            self.end()
            await on_gone()
