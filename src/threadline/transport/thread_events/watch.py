"""What a stream of a thread is sent: the running turn from `since`, then every turn.

A stream opens by resuming the conversation's running reply after `since` (on any
process: `ChatService.resume`), then subscribing to the conversation's turns from then
on (`ChatService.subscribe`). With no reply running, it gets the questions a paused run
waits for, and, when it resumes from a `since`, the end of the reply it followed (read
from storage). A thread id not in use becomes the user's thread. Its events go to the
stream's `Send` (an `EventStream`, or a socket's outbox); `Envelopes` drops what is told
twice.
"""

from __future__ import annotations

import msgspec

from threadline.chat.errors import ConversationExists, ConversationNotFound, NothingToResume
from threadline.chat.events import Event, Replied, Send
from threadline.chat.service import ChatService
from threadline.chat.turns.turn import Turn
from threadline.transport.services import claim_conversation

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
        self._opened = False

    async def open(self, since: int) -> None:
        """Resume from `since`, subscribe, and tell what a thread at rest is at.

        A thread id not in use becomes the user's thread, as a `run.start` would make it:
        a stream may be opened before the first run. Another user's thread looks the
        same, and its stream stays quiet.
        """
        # A live connection of the user, as a socket is: every process then relays the
        # thread's events here (and answers a resume from here).
        await self._chat.relay.opened(self._user_id, self._receive)
        self._opened = True
        try:
            await self._watch(since)
        except ConversationNotFound:
            try:
                await claim_conversation(self._chat, self._user_id, self._thread_id)
            except ConversationExists:
                return  # another user's: nothing, ever
            await self._watch(since)

    async def _watch(self, since: int) -> None:
        nothing = False
        try:
            self._turn = await self._chat.watching.resume(
                self._user_id, self._thread_id, since, self._receive
            )
        except NothingToResume:  # no reply yet: a new thread, or paused before one
            nothing = True
        await self._chat.watching.subscribe(self._user_id, self._thread_id, self._receive)
        self._opening = False
        # Answered from storage, and no turn waits here to start: the thread is at rest.
        stored = nothing or self._stored is not None  # not asked of another process
        at_rest = stored and not self._chat.busy(self._thread_id)
        if self._turn is None and at_rest:
            await self._at_rest(since)

    async def close(self) -> None:
        """No more events for this stream."""
        if self._turn is not None:
            self._turn.audience.detach(self._receive)
        if self._opened:  # its subscription and requests are forgotten with it
            await self._chat.relay.closed(self._user_id, self._receive)

    async def _receive(self, event: Event) -> None:
        """The resumed reply's events; a stored reply is held until the thread is read."""
        if self._opening and isinstance(event, Replied) and event.seq is msgspec.UNSET:
            self._stored = event
            return
        await self._send(event)

    async def _at_rest(self, since: int) -> None:
        """What a paused run waits for; else, to a client that followed a reply, its end.

        A stream opened afresh on a thread at rest says nothing more: its messages are
        the thread's state (`GET /threads/{thread_id}/state`).
        """
        history = await self._chat.conversations.history(
            self._user_id, self._thread_id, HISTORY_MESSAGES
        )
        if history.pending_interrupts:
            for asked in history.pending_interrupts:
                await self._send(asked)
        elif self._stored is not None and since > 0:
            await self._send(self._stored)
        self._stored = None
