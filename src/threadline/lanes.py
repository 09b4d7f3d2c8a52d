"""In-process turn scheduling: each conversation is a lane whose turns run one by one."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AnyMessage

from threadline.protocol import ServerFrame

__all__ = ("Send", "Turn", "TurnManager")

Send = Callable[[ServerFrame], Awaitable[None]]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Turn:
    """One accepted request for a reply: a user message, or a regenerate (`text` None)."""

    user_id: str
    conversation_id: str
    message_id: str
    reply_id: str
    text: str | None
    client_message_id: str | None = None
    listeners: list[Send] = field(default_factory=list)
    # The socket that asked for this turn; only it may withdraw the turn when it leaves.
    origin: Send | None = None
    # The thread's messages as of the turn's latest step.
    messages: list[AnyMessage] = field(default_factory=list)
    accepted: bool = False
    stop_requested: bool = False
    partial: list[str] = field(default_factory=list)
    run_task: asyncio.Task[Any] | None = None
    _replay: list[ServerFrame] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def emit(self, frame: ServerFrame) -> None:
        """Send `frame` to every listener, and keep it for listeners that attach later."""
        async with self._lock:
            self._replay.append(frame)
            for send in list(self.listeners):
                await send(frame)

    async def attach(self, send: Send) -> None:
        """Add a listener (a resent message, say), catching it up on what was sent so far."""
        async with self._lock:
            for frame in self._replay:
                await send(frame)
            self.listeners.append(send)

    def detach(self, send: Send) -> None:
        """Stop sending to `send` (its socket closed)."""
        if send in self.listeners:
            self.listeners.remove(send)


@dataclass(eq=False)
class _Lane:
    queue: deque[Turn] = field(default_factory=deque)
    current: Turn | None = None
    worker: asyncio.Task[None] | None = None


class TurnManager:
    """Queues turns per conversation and runs each lane's turns in order."""

    def __init__(self, execute: Callable[[Turn], Awaitable[Sequence[ServerFrame]]]) -> None:
        self._execute = execute
        self._lanes: dict[str, _Lane] = {}
        self._per_user: Counter[str] = Counter()

    def busy(self, conversation_id: str) -> bool:
        """Whether a turn of the conversation is running or waiting in this process."""
        return conversation_id in self._lanes

    def waiting(self, conversation_id: str) -> int:
        """How many turns of the conversation wait behind its running one."""
        lane = self._lanes.get(conversation_id)
        return len(lane.queue) if lane else 0

    def of_user(self, user_id: str) -> int:
        """How many turns of the user are running or waiting, across conversations."""
        return self._per_user[user_id]

    def submit(self, turn: Turn) -> int:
        """Queue `turn`; returns how many turns of its conversation are ahead of it."""
        lane = self._lanes.get(turn.conversation_id)
        if lane is None:
            lane = self._lanes[turn.conversation_id] = _Lane()
            lane.worker = asyncio.create_task(self._work(turn.conversation_id, lane))
        lane.queue.append(turn)
        self._per_user[turn.user_id] += 1
        return len(lane.queue) - 1 + (lane.current is not None)

    def withdraw(self, turn: Turn) -> None:
        """Take back `turn`: dropped if it still waits (nothing of it was stored), else stopped."""
        lane = self._lanes.get(turn.conversation_id)
        if lane is None:
            return
        if turn in lane.queue:
            lane.queue.remove(turn)
            self._finished(turn)
        elif lane.current is turn:
            _request_stop(turn)

    def find(self, conversation_id: str, client_message_id: str) -> Turn | None:
        """The running or queued turn for this client message, if any."""
        lane = self._lanes.get(conversation_id)
        if lane is None:
            return None
        turns = [lane.current, *lane.queue] if lane.current else list(lane.queue)
        return next((t for t in turns if t.client_message_id == client_message_id), None)

    def stop(self, conversation_id: str) -> Turn | None:
        """Stop the conversation's running turn and return it; None if none is running."""
        lane = self._lanes.get(conversation_id)
        if lane is None or lane.current is None:
            return None
        _request_stop(lane.current)
        return lane.current

    async def cancel(
        self, conversation_id: str, on_abandoned: Callable[[Turn], Awaitable[None]]
    ) -> None:
        """Drop the conversation's queued turns, stop its running one, and wait for it."""
        lane = self._lanes.get(conversation_id)
        if lane is None:
            return
        while lane.queue:
            await self._abandon(lane.queue.popleft(), on_abandoned)
        if lane.current:
            _request_stop(lane.current)
        if lane.worker:
            await asyncio.gather(lane.worker, return_exceptions=True)

    async def drain(self, grace: float, on_abandoned: Callable[[Turn], Awaitable[None]]) -> None:
        """Let turns finish for up to `grace` seconds, then stop the running ones.

        Args:
            grace: Seconds to wait for every lane to empty.
            on_abandoned: Awaited for each queued turn that will now never run.
        """
        workers = [lane.worker for lane in self._lanes.values() if lane.worker]
        if not workers:
            return
        _, pending = await asyncio.wait(workers, timeout=grace)
        for lane in list(self._lanes.values()):
            while lane.queue:
                await self._abandon(lane.queue.popleft(), on_abandoned)
            if lane.current:
                _request_stop(lane.current)
        await asyncio.gather(*pending, return_exceptions=True)

    async def _work(self, conversation_id: str, lane: _Lane) -> None:
        try:
            while lane.queue:
                turn = lane.current = lane.queue.popleft()
                try:
                    outcome = await self._execute(turn)
                finally:
                    lane.current = None
                    self._finished(turn)
                    if not lane.queue:
                        self._retire(conversation_id, lane)
                # Sent only now, with the lane idle: a client that answers the moment it
                # sees the reply is never told its conversation is busy.
                for frame in outcome:
                    await turn.emit(frame)
        except Exception:  # the executor reports to the client; this is a last resort
            logger.exception("turn.crashed", extra={"conversation_id": conversation_id})
        finally:
            self._retire(conversation_id, lane)

    async def _abandon(self, turn: Turn, on_abandoned: Callable[[Turn], Awaitable[None]]) -> None:
        self._finished(turn)
        await on_abandoned(turn)

    def _finished(self, turn: Turn) -> None:
        self._per_user[turn.user_id] -= 1
        if self._per_user[turn.user_id] <= 0:
            del self._per_user[turn.user_id]

    def _retire(self, conversation_id: str, lane: _Lane) -> None:
        # A new lane may already serve the conversation; only this one is removed.
        if self._lanes.get(conversation_id) is lane:
            del self._lanes[conversation_id]


def _request_stop(turn: Turn) -> None:
    turn.stop_requested = True
    # Before acceptance the user's message is not stored yet: the turn stops itself right
    # after storing it (see ChatService), so a stop never loses what the user sent.
    if turn.accepted and turn.run_task is not None:
        turn.run_task.cancel()
