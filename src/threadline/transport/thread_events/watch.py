"""What a stream of a thread is sent: the running turn from `since`, then every turn.

A stream opens by resuming the conversation's running reply after `since` (on any
process: `ChatService.resume`), then subscribing to the conversation's turns from then
on (`ChatService.subscribe`). With no reply running, it gets what the thread is at: the
questions a paused run waits for, or else the latest stored reply. Its events go to the
stream's `Send` (an `EventStream`, or a socket's outbox); `Envelopes` drops what is told
twice.
"""

from __future__ import annotations

import contextlib

import msgspec

from threadline.chat.errors import NothingToResume
from threadline.chat.events import Event, Replied, Send
from threadline.chat.service import ChatService
from threadline.chat.turn import Turn

__all__ = ("Watch",)

# The newest messages read to learn what a paused run waits for.
HISTORY_MESSAGES = 1


class Watch:
    """One stream's watch of one thread: `open()` it, `close()` it when the client leaves."""

    def __init__(self, chat: ChatService, user_id: str, thread_id: str, send: Send) -> None:
        self._chat = chat
        self._user_id = user_id
        self._thread_id = thread_id
        self._send = send
        self._turn: Turn | None = None
        self._opening = True
        self._stored: Replied | None = None

    async def open(self, since: int) -> None:
        """Resume from `since`, subscribe, and tell what a thread at rest is at.

        Raises:
            ConversationNotFound: Not a thread of this user (another's looks the same).
        """
        with contextlib.suppress(NothingToResume):  # no reply yet: a new thread
            self._turn = await self._chat.resume(
                self._user_id, self._thread_id, since, self._receive
            )
        await self._chat.subscribe(self._user_id, self._thread_id, self._send)
        self._opening = False
        if self._turn is None:
            await self._at_rest()

    async def close(self) -> None:
        """No more events for this stream."""
        if self._turn is not None:
            self._turn.audience.detach(self._receive)
        await self._chat.unsubscribe(self._user_id, self._thread_id, self._send)

    async def _receive(self, event: Event) -> None:
        """The resumed reply's events; a stored reply is held until the thread is read."""
        if self._opening and isinstance(event, Replied) and event.seq is msgspec.UNSET:
            self._stored = event
            return
        await self._send(event)

    async def _at_rest(self) -> None:
        """What a paused run waits for, or else the stored reply (none while it runs)."""
        history = await self._chat.history(self._user_id, self._thread_id, HISTORY_MESSAGES)
        if history.pending_interrupts:
            for asked in history.pending_interrupts:
                await self._send(asked)
        elif self._stored is not None:
            await self._send(self._stored)
