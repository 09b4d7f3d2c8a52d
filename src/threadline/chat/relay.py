"""A user's events wherever their sockets are: on this process, and across processes.

On this process the relay knows each user's open sockets (for sidebar events) and each
conversation's subscribers (for the events of its turns). Across processes it speaks in
bulletins (`bulletins`) over PostgreSQL notices (`storage.notices`): which users have
sockets where, the events of turns, sidebar events, and requests to stop or resume a turn
that runs elsewhere.

A turn's events are published only while the user has sockets on another process, so a
single server (or a user on one server) pays nothing per token. Answers to one socket's
stop or resume come back addressed to it (`Relayed.request`); while one is open, that
socket takes the conversation's events from it alone, so nothing arrives twice. A stop
from a socket that already follows the turn (subscribed before its reply began, or
resumed) asks for no event. What a subscription brought of a reply is not sent again
(`subscriptions`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

from threadline.chat.bulletins import (
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
from threadline.chat.events import (
    ApprovalRequired,
    Context,
    ConversationChanged,
    Event,
    Failed,
    Replied,
    Send,
)
from threadline.chat.subscriptions import Subscriptions

if TYPE_CHECKING:
    from threadline.storage.notices import Notices
    from threadline.storage.presence import PresenceBoard

__all__ = ("Answer", "Relay", "RequestHandler")

logger = logging.getLogger(__name__)

# A request whose process answers neither `Served` nor `Missed` within this long went to a
# process that died (its lease has not expired yet): it is treated as missed.
ANSWER_TIMEOUT = 3.0

# Where the events of a turn (named by its id) that answer a request go.
Answer = Callable[[str], Send]
# Serves a stop or resume asked from another process: (bulletin, where its events go);
# False when no turn of the conversation runs here.
RequestHandler = Callable[[StopRequest | ResumeRequest, Answer], Awaitable[bool]]


class _Request:
    """A socket here waiting on a turn that runs elsewhere."""

    def __init__(
        self, send: Send, conversation_id: str, on_missed: Callable[[], Awaitable[None]]
    ) -> None:
        self.send = send
        self.conversation_id = conversation_id
        self.on_missed = on_missed
        # Past the turn's reply: its context may still follow, but the socket takes the
        # conversation's other events from its subscription again.
        self.ended = False
        self.answered = False
        # A stop from a socket that follows the turn already: no event comes back for it.
        self.quiet = False

    @property
    def delivering(self) -> bool:
        """Whether the turn's events reach the socket through this request now."""
        return not (self.ended or self.quiet)


class Relay:
    """This process's sockets and subscriptions, and its bulletins to the others."""

    def __init__(
        self,
        process_id: str | None = None,
        *,
        notices: Notices | None = None,
        board: PresenceBoard | None = None,
    ) -> None:
        """A relay of this process alone, or speaking to the others through `notices`.

        Args:
            process_id: This process's id (a new one if None).
            notices: Where bulletins go; they come back through `on_notice` and
                `resync`, which the caller hands to `notices.start`.
            board: Where this process counts its sockets (its beat calls `on_beat`).
        """
        self.process_id = process_id or secrets.token_hex(6)
        self._notices = notices
        self._board = board
        self._sockets: dict[str, list[Send]] = {}  # user -> sockets here
        self._subscriptions = Subscriptions()  # conversation -> sockets here
        self._remote: dict[str, set[str]] = {}  # user -> other processes with sockets
        self._requests: dict[str, _Request] = {}
        self._serve: RequestHandler | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._watchers: list[Callable[[str | None], None]] = []

    def serve_requests(self, handler: RequestHandler) -> None:
        """Who serves stops and resumes asked from elsewhere (the chat service)."""
        self._serve = handler

    def watch_changes(self, watcher: Callable[[str | None], None]) -> None:
        """Call `watcher` with the user whose memories or documents changed, anywhere.

        None: maybe anyone's (a shared document changed, or bulletins were missed).
        """
        self._watchers.append(watcher)

    def changed(self, user_id: str | None) -> None:
        """Tell this process's watchers, and every other process's, of a change."""
        self._tell_watchers(user_id)
        self._publish(Changed(user_id))

    def _tell_watchers(self, user_id: str | None) -> None:
        for watcher in self._watchers:
            watcher(user_id)

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
        self._requests = {k: r for k, r in self._requests.items() if r.send is not send}
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
        return self._subscriptions.carrying(conversation_id, send) or any(
            r.send is send and r.conversation_id == conversation_id and r.delivering
            for r in self._requests.values()
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

    def ask(
        self,
        bulletin: StopRequest | ResumeRequest,
        send: Send,
        on_missed: Callable[[], Awaitable[None]],
    ) -> None:
        """Send a stop or resume to the process running the turn; its answer goes to `send`."""
        request = _Request(send, bulletin.conversation_id, on_missed)
        request.quiet = isinstance(bulletin, StopRequest) and bulletin.follows
        self._requests[bulletin.request] = request
        self._publish(bulletin)
        asyncio.get_running_loop().call_later(ANSWER_TIMEOUT, self._unanswered, bulletin.request)

    def _unanswered(self, request_id: str) -> None:
        request = self._requests.get(request_id)
        if request is not None and not request.answered:
            del self._requests[request_id]
            task = asyncio.create_task(_run(request.on_missed))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif request is not None and request.quiet:
            del self._requests[request_id]  # served, and no event comes for it

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
                if (waiting := self._requests.get(request)) is not None:
                    waiting.answered = True
            case Missed(to=to, request=request) if to == self.process_id:
                if (waiting := self._requests.pop(request, None)) is not None:
                    await waiting.on_missed()
            case Changed(user_id=user_id):
                self._tell_watchers(user_id)

    async def _relayed(self, bulletin: Relayed) -> None:
        event, turn = bulletin.event, bulletin.turn
        if bulletin.request is not None:
            if bulletin.to == self.process_id:
                await self._answered(bulletin.request, turn, event)
            return
        conversation_id = getattr(event, "conversation_id", None)
        if conversation_id is None:
            return
        answering = {
            r.send
            for r in self._requests.values()
            if r.conversation_id == conversation_id and r.delivering
        }
        for send in self._subscriptions.receivers(conversation_id, turn, event, answering):
            await send(event)

    async def _answered(self, request_id: str, turn: str | None, event: Event) -> None:
        """An event answering a request of this process: to the socket that asked."""
        request = self._requests.get(request_id)
        if request is None:
            return
        request.ended = request.ended or _ends_turn(event)
        if isinstance(event, Context):
            del self._requests[request_id]
        if not self._subscriptions.brought(request.conversation_id, request.send, turn, event):
            await request.send(event)

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


def _ends_turn(event: Event) -> bool:
    """Whether `event` is a turn's outcome (only its context may follow)."""
    return isinstance(event, Replied | Context | Failed | ApprovalRequired)


async def _run(work: Callable[[], Awaitable[None]]) -> None:
    await work()
