"""Who hears a turn: its listeners, the conversation's subscribers, other processes.

Every event a turn sends goes through its audience, which numbers the events of the reply
(`seq`), keeps them for listeners that arrive late (a resend, a stop, a resume), and hands
them to the relay for subscribers here and sockets elsewhere.
"""

from __future__ import annotations

import asyncio

from threadline.chat.events import (
    ApprovalRequired,
    Event,
    InterruptEvent,
    Replied,
    Send,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)
from threadline.chat.fanout.relay import Relay

__all__ = ("Audience",)

# The events numbered by `seq` within a reply; the others (queued, accepted, context, failed)
# are about the turn rather than part of its reply.
_SEQUENCED = (
    Token,
    ToolCallEvent,
    ToolResultEvent,
    ApprovalRequired,
    InterruptEvent,
    Replied,
)


class Audience:
    """The sockets a turn's events go to, and the events sent so far."""

    def __init__(
        self, relay: Relay, user_id: str, conversation_id: str, turn: str, origin: Send
    ) -> None:
        self._relay = relay
        self._user_id = user_id
        self._conversation_id = conversation_id
        self._turn = turn
        self._listeners: list[Send] = [origin]
        self._sent: list[Event] = []
        self._seq = 0
        self._emitting = asyncio.Lock()

    @property
    def watched(self) -> bool:
        """Whether any socket still listens."""
        return bool(self._listeners)

    def listens(self, send: Send) -> bool:
        """Whether `send` is a listener."""
        return send in self._listeners

    async def attach(self, send: Send, after_seq: int | None = None) -> None:
        """Add a listener, catching it up on the events sent so far.

        A socket subscribed to the conversation is not sent again what its subscription
        brought (the reply's events up to some `seq`, `relay.hand_over`).

        Args:
            send: The listener.
            after_seq: Only the events after the one numbered `after_seq` (a client that
                resumes); every event when None.
        """
        async with self._emitting:
            brought = self._relay.hand_over(self._conversation_id, send, self._turn)
            start = _after(self._sent, max(after_seq or 0, brought))
            for event in self._sent[start:]:
                await send(event)
            if send not in self._listeners:
                self._listeners.append(send)

    def detach(self, send: Send) -> None:
        """Stop sending to `send` (its socket closed)."""
        if send in self._listeners:
            self._listeners.remove(send)

    async def emit(self, event: Event, *, numbered: bool = True) -> None:
        """Number `event` if it is part of the reply, and send it to everyone listening.

        Args:
            event: The event.
            numbered: False for a reply read from storage: it is whole, and has no `seq`.
        """
        async with self._emitting:
            if numbered and isinstance(event, _SEQUENCED):
                self._seq += 1
                event.seq = self._seq
            self._sent.append(event)
            listeners = list(self._listeners)
            for send in listeners:
                await send(event)
            await self._relay.turn_event(
                self._user_id, self._conversation_id, self._turn, event, listeners
            )


def _after(sent: list[Event], after_seq: int) -> int:
    """Where the events after the one numbered `after_seq` begin in `sent`."""
    start = 0
    for position, event in enumerate(sent):
        seq = getattr(event, "seq", None)
        if isinstance(seq, int) and seq <= after_seq:
            start = position + 1
    return start
