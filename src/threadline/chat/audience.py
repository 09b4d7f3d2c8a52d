"""Who hears a turn: its listeners, the conversation's subscribers, other processes.

Every frame a turn sends goes through its audience, which numbers the frames of the reply
(`seq`), keeps them for listeners that arrive late (a resend, a stop, a resume), and hands
them to the relay for subscribers here and sockets elsewhere.
"""

from __future__ import annotations

import asyncio

from threadline.chat.events import (
    ApprovalRequired,
    InterruptEvent,
    ReplyMessage,
    ServerFrame,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)
from threadline.chat.relay import Relay, Send

__all__ = ("Audience",)

# The frames numbered by `seq` within a reply; the others (queued, ack, context, error)
# are about the turn rather than part of its reply.
_SEQUENCED = (
    Token,
    ToolCallEvent,
    ToolResultEvent,
    ApprovalRequired,
    InterruptEvent,
    ReplyMessage,
)


class Audience:
    """The sockets a turn's frames go to, and the frames sent so far."""

    def __init__(
        self, relay: Relay, user_id: str, conversation_id: str, turn: str, origin: Send
    ) -> None:
        self._relay = relay
        self._user_id = user_id
        self._conversation_id = conversation_id
        self._turn = turn
        self._listeners: list[Send] = [origin]
        self._sent: list[ServerFrame] = []
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
        """Add a listener, catching it up on the frames sent so far.

        A socket subscribed to the conversation is not sent again what its subscription
        brought (the reply's frames up to some `seq`, `relay.hand_over`).

        Args:
            send: The listener.
            after_seq: Only the frames after the one numbered `after_seq` (a client that
                resumes); every frame when None.
        """
        async with self._emitting:
            brought = self._relay.hand_over(self._conversation_id, send, self._turn)
            start = _after(self._sent, max(after_seq or 0, brought))
            for frame in self._sent[start:]:
                await send(frame)
            if send not in self._listeners:
                self._listeners.append(send)

    def detach(self, send: Send) -> None:
        """Stop sending to `send` (its socket closed)."""
        if send in self._listeners:
            self._listeners.remove(send)

    async def emit(self, frame: ServerFrame, *, numbered: bool = True) -> None:
        """Number `frame` if it is part of the reply, and send it to everyone listening.

        Args:
            frame: The frame.
            numbered: False for a reply read from storage: it is whole, and has no `seq`.
        """
        async with self._emitting:
            if numbered and isinstance(frame, _SEQUENCED):
                self._seq += 1
                frame.seq = self._seq
            self._sent.append(frame)
            listeners = list(self._listeners)
            for send in listeners:
                await send(frame)
            await self._relay.turn_frame(
                self._user_id, self._conversation_id, self._turn, frame, listeners
            )


def _after(sent: list[ServerFrame], after_seq: int) -> int:
    """Where the frames after the one numbered `after_seq` begin in `sent`."""
    start = 0
    for position, frame in enumerate(sent):
        seq = getattr(frame, "seq", None)
        if isinstance(seq, int) and seq <= after_seq:
            start = position + 1
    return start
