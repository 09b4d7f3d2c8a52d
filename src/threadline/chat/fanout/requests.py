"""This process's stops and resumes asked of the process where a turn runs, until answered.

The answer comes back addressed to the asking socket (`Relayed.request`); while a request
is open, that socket takes the conversation's events from it alone, so nothing arrives
twice. A stop from a socket that already follows the turn (subscribed before its reply
began, or resumed) asks for no event. What a subscription brought of a reply is not sent
again (`subscriptions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from threadline.chat.events import (
    ApprovalRequired,
    Context,
    Event,
    Failed,
    InterruptEvent,
    Replied,
    Send,
)
from threadline.chat.fanout.bulletins import Bulletin, ResumeRequest, StopRequest
from threadline.chat.fanout.subscriptions import Subscriptions

__all__ = ("ANSWER_TIMEOUT", "OnMissed", "OpenRequests")

# A request whose process answers neither `Served` nor `Missed` within this long went to a
# process that died (its lease has not expired yet): it is treated as missed.
ANSWER_TIMEOUT = 3.0

OnMissed = Callable[[], Coroutine[Any, Any, None]]


class _Request:
    """A socket here waiting on a turn that runs elsewhere."""

    def __init__(self, send: Send, conversation_id: str, on_missed: OnMissed) -> None:
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


class OpenRequests:
    """The requests of this process's sockets, by id, until answered or missed."""

    def __init__(self, subscriptions: Subscriptions, publish: Callable[[Bulletin], None]) -> None:
        self._subscriptions = subscriptions
        self._publish = publish
        self._open: dict[str, _Request] = {}
        self._background: set[asyncio.Task[None]] = set()

    def ask(self, bulletin: StopRequest | ResumeRequest, send: Send, on_missed: OnMissed) -> None:
        """Send a stop or resume to the process running the turn; its answer goes to `send`."""
        request = _Request(send, bulletin.conversation_id, on_missed)
        request.quiet = isinstance(bulletin, StopRequest) and bulletin.follows
        self._open[bulletin.request] = request
        self._publish(bulletin)
        asyncio.get_running_loop().call_later(ANSWER_TIMEOUT, self._unanswered, bulletin.request)

    def follows(self, conversation_id: str, send: Send) -> bool:
        """Whether `send` gets the events of the conversation's turn through a request."""
        return send in self.delivering(conversation_id)

    def delivering(self, conversation_id: str) -> set[Send]:
        """The sockets that take the conversation's turn from a request's answer now."""
        return {
            r.send
            for r in self._open.values()
            if r.conversation_id == conversation_id and r.delivering
        }

    def forget(self, send: Send) -> None:
        """The socket closed: its requests are answered to nobody."""
        self._open = {k: r for k, r in self._open.items() if r.send is not send}

    def served(self, request_id: str) -> None:
        """The other process runs the turn: its events follow."""
        if (request := self._open.get(request_id)) is not None:
            request.answered = True

    async def missed(self, request_id: str) -> None:
        """The other process found no turn: the asking socket is answered another way."""
        if (request := self._open.pop(request_id, None)) is not None:
            await request.on_missed()

    async def answered(self, request_id: str, turn: str | None, event: Event) -> None:
        """An event answering a request: to the socket that asked, unless it has it."""
        request = self._open.get(request_id)
        if request is None:
            return
        request.ended = request.ended or _ends_turn(event)
        if isinstance(event, Context):
            del self._open[request_id]
        if not self._subscriptions.brought(request.conversation_id, request.send, turn, event):
            await request.send(event)

    def _unanswered(self, request_id: str) -> None:
        request = self._open.get(request_id)
        if request is not None and not request.answered:
            del self._open[request_id]
            task = asyncio.create_task(request.on_missed())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif request is not None and request.quiet:
            del self._open[request_id]  # served, and no event comes for it


def _ends_turn(event: Event) -> bool:
    """Whether `event` is a turn's outcome (only its context may follow)."""
    return isinstance(event, Replied | Context | Failed | ApprovalRequired | InterruptEvent)
