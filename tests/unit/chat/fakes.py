"""Fakes of what a turn works with, so the turn's parts run with no database and no model.

`FakeEngine` answers a turn by streaming the tokens it is given to the turn (the
`TurnListener` the runner reports to) and returning the reply; it waits on `go` first,
when set, so a test can hold a turn while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage

from threadline.chat.events import ConversationChanged, Event
from threadline.chat.fanout.relay import Relay
from threadline.chat.turns.turn import TurnServices
from threadline.engine.messages import STOPPED
from threadline.engine.replies import Reply
from threadline.engine.runner import TurnListener

MODEL = "fake-model"


class Listener:
    """A socket's `send`: keeps what it is sent."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        """The events' kinds, in order."""
        return [type(event).__name__ for event in self.events]


class _Ahead:
    inputs = None

    def stored(self, stored: object) -> bool:
        return True  # stored with the lease, as the real statement does


class _Lease:
    observed = None
    stored = None


class FakeEngine:
    """The runner, the index, the leases and the activity of a turn, in memory."""

    model_name = MODEL
    builtin = True

    def __init__(self, tokens: Sequence[str] = ("Hel", "lo")) -> None:
        self.tokens = list(tokens)
        self.go: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.ran: list[str] = []  # the conversations answered, in order
        self.running = asyncio.Event()  # set once a turn's message is stored
        self.stored: list[str] = []  # what stopped replies kept

    # The runner ------------------------------------------------------------------------

    def store_ahead(self, conversation_id: str, inputs: list[BaseMessage]) -> _Ahead:
        return _Ahead()

    @contextmanager
    def trusting(self, conversation_id: str, observed: object) -> Iterator[None]:
        yield

    async def run(
        self, conversation_id: str, inputs: object, reply_id: str, turn: TurnListener, **_: Any
    ) -> Reply:
        await turn.accepted()
        self.ran.append(conversation_id)
        self.running.set()
        if self.go is not None:
            await self.go.wait()
        if self.fail is not None:
            raise self.fail
        for token in self.tokens:
            await turn.delta(token)
        context = {
            "tokens_used": 10,
            "token_budget": 100,
            "messages_total": 2,
            "messages_in_context": 2,
            "summarized": False,
        }
        return Reply(reply_id, "".join(self.tokens), MODEL, context=context)

    async def save_stopped(
        self, conversation_id: str, message_id: str, partial: str, steps: list[Any], **_: Any
    ) -> AIMessage:
        self.stored.append(partial)
        return AIMessage(partial, id=message_id, response_metadata={STOPPED: True})

    # The index, the leases, the activity -------------------------------------------------

    @asynccontextmanager
    async def hold(self, conversation_id: str, **_: Any) -> AsyncIterator[_Lease]:
        yield _Lease()

    async def record(self, *_: Any, **__: Any) -> ConversationChanged | None:
        return None

    async def tell(self, user_id: str, event: ConversationChanged) -> None:
        raise AssertionError("no sidebar change was recorded")

    def services(self, relay: Relay | None = None) -> TurnServices:
        """What a turn is built with: this engine in every part, and `relay`."""
        fake = cast("Any", self)
        return TurnServices(fake, fake, fake, fake, relay or Relay(), wait_for_lease=False)
