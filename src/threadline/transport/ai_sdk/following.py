"""A turn's events into one UI message stream response, which ends when the turn does."""

from __future__ import annotations

import asyncio

from threadline.chat.events import (
    ApprovalRequired,
    Context,
    Event,
    Failed,
    InterruptEvent,
    Replied,
)
from threadline.chat.turns.turn import Turn
from threadline.transport.event_stream import EventStream

__all__ = ("Following",)

# After an outcome relayed from another process (a reply, an approval asked), the events
# that may still follow it (its context, the other approvals) come at once: the stream
# ends this long after it at the latest.
AFTER_OUTCOME_SECONDS = 2.0


class Following:
    """The `Send` a turn is given: queues into `stream`, ends it when the turn is over.

    A turn of this process ends the stream when its task ends (its last event is out).
    Events relayed from another process end it by what they say: a failure, a stopped
    reply or the context after a reply at once; a reply or what a paused run asks for
    shortly after (nothing else follows them).
    """

    def __init__(self, stream: EventStream, after_outcome: float = AFTER_OUTCOME_SECONDS) -> None:
        self.stream = stream
        self._after_outcome = after_outcome
        self._first = asyncio.Event()
        self.first: Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._local = False  # a turn of this process: its task's end is exact

    async def __call__(self, event: Event) -> None:
        """Queue `event`; end the stream if it is the last."""
        if self.first is None:
            self.first = event
            self._first.set()
        await self.stream(event)
        if isinstance(event, Context | Failed) or (isinstance(event, Replied) and event.stopped):
            self.stream.end()
        elif isinstance(event, Replied | ApprovalRequired | InterruptEvent) and not (
            self._local or self._timer
        ):
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._after_outcome, self.stream.end)

    def follow(self, turn: Turn) -> None:
        """End the stream once `turn` (running here) has sent its last event."""
        if turn.task is not None:
            self._local = True
            if self._timer is not None:
                self._timer.cancel()
            turn.task.add_done_callback(lambda _: self.stream.end())

    async def first_event(self, within: float) -> Event | None:
        """The first event sent, waiting up to `within` seconds for it (None: none came)."""
        try:
            async with asyncio.timeout(within):
                await self._first.wait()
        except TimeoutError:
            return None
        return self.first
