"""A user's events wherever their sockets are: on this process, and across processes.

On this process the relay knows each user's open sockets (for sidebar events) and each
conversation's subscribers (for the events of its turns). Across processes it speaks in
bulletins (`bulletins`) over PostgreSQL notices (`storage.notices`): which users have
sockets where, the events of turns, sidebar events, and requests to stop or resume a turn
that runs elsewhere.

A turn's events are published only while the user has sockets on another process, so a
single server (or a user on one server) pays nothing per token. A stop or resume asked of
another process is followed until answered by `requests.OpenRequests`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

from threadline.chat.events import ConversationChanged, Event, Send
from threadline.chat.fanout.bulletins import (
    Bulletin,
    Changed,
    Missed,
    Present,
    Relayed,
    ResumeRequest,
    Served,
    Sidebar,
    StopRequest,
    decode,
    encode,
)
from threadline.chat.fanout.requests import OpenRequests
from threadline.chat.fanout.subscriptions import Subscriptions

if TYPE_CHECKING:
    from threadline.storage.notices import Notices
    from threadline.storage.presence import PresenceBoard

__all__ = ("Answer", "Relay", "RequestHandler")

logger = logging.getLogger(__name__)

# Where the events of a turn (named by its id) that answer a request go.
Answer = Callable[[str], Send]
# Serves a stop or resume asked from another process: (bulletin, where its events go);
# False when no turn of the conversation runs here.
RequestHandler = Callable[[StopRequest | ResumeRequest, Answer], Awaitable[bool]]


class Relay:
    """This process's sockets and subscriptions, and its bulletins to the others."""

    def __init__(
        self,
        process_id: str | None = None,
        *,
        notices: Notices | None = None,
        board: PresenceBoard | None = None,
        serve: RequestHandler | None = None,
        on_change: Callable[[str | None], None] | None = None,
    ) -> None:
        """A relay of this process alone, or speaking to the others through `notices`.

        Args:
            process_id: This process's id (a new one if None).
            notices: Where bulletins go; they come back through `on_notice` and
                `resync`, which the caller hands to `notices.start`.
            board: Where this process counts its sockets (its beat calls `on_beat`).
            serve: Who serves stops and resumes asked from elsewhere (a call up, to the
                turns of this process: `watching.requests_served`).
            on_change: Called with the user whose memories or documents changed,
                anywhere (None: maybe anyone's, a shared document changed or bulletins
                were missed): a call up, to the knowledge's holdings.
        """
        self.process_id = process_id or secrets.token_hex(6)
        self._notices = notices
        self._board = board
        self._sockets: dict[str, list[Send]] = {}  # user -> sockets here
        self._subscriptions = Subscriptions()  # conversation -> sockets here
        self._remote: dict[str, set[str]] = {}  # user -> other processes with sockets
        self.requests = OpenRequests(self._subscriptions, self._publish)
        self._serve = serve
        self._on_change = on_change

    def changed(self, user_id: str | None) -> None:
        """Tell this process's watchers, and every other process's, of a change."""
        self._tell_watchers(user_id)
        self._publish(Changed(user_id))

    def _tell_watchers(self, user_id: str | None) -> None:
        if self._on_change is not None:
            self._on_change(user_id)

    # Sockets and subscriptions here -------------------------------------------------------

    async def opened(self, user_id: str, send: Send) -> None:
        """A socket of `user_id` opened here; once this returns, every process knows."""
        sockets = self._sockets.setdefault(user_id, [])
        sockets.append(send)
        if self._board is not None:
            await self._board.opened(user_id)
        if len(sockets) == 1 and self._notices is not None:
            await self._notices.published(encode(Present(user_id, here=True)))

    async def closed(self, user_id: str, send: Send) -> None:
        """The socket closed: forget its subscriptions and requests."""
        sockets = self._sockets.get(user_id, [])
        if send in sockets:
            sockets.remove(send)
        if not sockets:
            self._sockets.pop(user_id, None)
            self._publish(Present(user_id, here=False))
        self._subscriptions.forget(send)
        self.requests.forget(send)
        if self._board is not None:
            await self._board.closed(user_id)

    async def connections(self, user_id: str) -> int:
        """How many sockets `user_id` has open, on every live process."""
        if self._board is None:
            return len(self._sockets.get(user_id, ()))
        return await self._board.connections(user_id)

    def subscribe(self, conversation_id: str, send: Send) -> None:
        """Send the conversation's turn events to `send` from now on, wherever they run."""
        self._subscriptions.add(conversation_id, send)

    def follows(self, conversation_id: str, send: Send) -> bool:
        """Whether `send` gets the events of the conversation's turn running elsewhere.

        Through its subscription (from the reply's start), or the answer to a resume.
        """
        return self._subscriptions.carrying(conversation_id, send) or self.requests.follows(
            conversation_id, send
        )

    def hand_over(self, conversation_id: str, send: Send, turn: str) -> int:
        """`send` becomes a listener of `turn`: the last `seq` its subscription brought."""
        return self._subscriptions.hand_over(conversation_id, send, turn)

    def unsubscribe(self, conversation_id: str, send: Send) -> None:
        """Stop sending the conversation's events to `send` (a turn it asked for goes on)."""
        self._subscriptions.remove(conversation_id, send)

    # What turns and conversations tell -----------------------------------------------------

    async def turn_event(
        self,
        user_id: str,
        conversation_id: str,
        turn: str,
        event: Event,
        listeners: list[Send],
    ) -> None:
        """An event a turn here sent to its listeners: to subscribers here, and elsewhere."""
        for send in self._subscriptions.receivers(conversation_id, turn, event, set(listeners)):
            await send(event)
        if self._remote.get(user_id):
            self._publish(Relayed(user_id, event, turn=turn))

    async def sidebar(self, user_id: str, event: ConversationChanged) -> None:
        """Tell every socket of the user, here and elsewhere, that a conversation changed."""
        await self._tell_sockets(user_id, event)
        if self._remote.get(user_id):
            self._publish(Sidebar(user_id, event))

    # Turns that run elsewhere ---------------------------------------------------------------

    def new_request(self) -> str:
        """An id for a request of this process."""
        return f"{self.process_id}.{secrets.token_hex(6)}"

    # Bulletins from the other processes ----------------------------------------------------

    async def on_notice(self, sender: str, data: bytes) -> None:
        """Handle one bulletin (this process's own come back too, and are skipped)."""
        if sender == self.process_id:
            return
        try:
            bulletin = decode(data)
        except msgspec.DecodeError:
            logger.warning("relay.bad_bulletin", extra={"sender": sender})
            return
        await self._handle(sender, bulletin)

    async def _handle(self, sender: str, bulletin: Bulletin) -> None:
        match bulletin:
            case Present(user_id=user_id, here=True):
                self._remember(user_id, sender)
            case Present(user_id=user_id):
                self._forget(user_id, sender)
            case Relayed():
                await self._relayed(bulletin)
            case Sidebar(user_id=user_id, event=event):
                await self._tell_sockets(user_id, event)
            case StopRequest() | ResumeRequest() if bulletin.to == self.process_id:
                self._remember(bulletin.user_id, sender)
                await self._answer(sender, bulletin)
            case Served(to=to, request=request) if to == self.process_id:
                self.requests.served(request)
            case Missed(to=to, request=request) if to == self.process_id:
                await self.requests.missed(request)
            case Changed(user_id=user_id):
                self._tell_watchers(user_id)

    async def _relayed(self, bulletin: Relayed) -> None:
        event, turn = bulletin.event, bulletin.turn
        if bulletin.request is not None:
            if bulletin.to == self.process_id:
                await self.requests.answered(bulletin.request, turn, event)
            return
        conversation_id = getattr(event, "conversation_id", None)
        if conversation_id is None:
            return
        answering = self.requests.delivering(conversation_id)
        for send in self._subscriptions.receivers(conversation_id, turn, event, answering):
            await send(event)

    async def _answer(self, sender: str, bulletin: StopRequest | ResumeRequest) -> None:
        user_id, request = bulletin.user_id, bulletin.request

        def back(turn: str) -> Send:
            async def answer(event: Event) -> None:
                self._publish(Relayed(user_id, event, to=sender, request=request, turn=turn))

            return answer

        self._publish(Served(sender, request))  # before the events, all in order
        served = self._serve is not None and await self._serve(bulletin, back)
        if not served:
            self._publish(Missed(sender, request))

    async def _tell_sockets(self, user_id: str, event: ConversationChanged) -> None:
        for send in list(self._sockets.get(user_id, ())):
            await send(event)

    def _remember(self, user_id: str, process_id: str) -> None:
        self._remote.setdefault(user_id, set()).add(process_id)

    def _forget(self, user_id: str, process_id: str) -> None:
        processes = self._remote.get(user_id)
        if processes is not None:
            processes.discard(process_id)
            if not processes:
                del self._remote[user_id]

    # Keeping the picture of the other processes true ------------------------------------

    def on_beat(self, live: set[str]) -> None:
        """The processes alive now: forget the sockets of any that died."""
        for user_id in list(self._remote):
            for process_id in self._remote[user_id] - live:
                self._forget(user_id, process_id)

    async def resync(self) -> None:
        """After the listener reconnected: bulletins were missed, so read who is where."""
        self._tell_watchers(None)
        if self._board is None:
            return
        remote: dict[str, set[str]] = {}
        for process_id, user_id in await self._board.elsewhere():
            remote.setdefault(user_id, set()).add(process_id)
        self._remote = remote

    def _publish(self, bulletin: Bulletin) -> None:
        if self._notices is not None:
            self._notices.publish(encode(bulletin))
