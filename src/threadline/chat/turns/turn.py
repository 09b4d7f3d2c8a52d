"""One turn, from the moment it is accepted to its last event.

The turn alone emits its events (queued, accepted, tokens, the reply, its context, or an
error), acknowledges its message, stops, and keeps a stopped reply. Listeners are the
sockets that watch it: the one that asked, and any that attach (a resend, a stop). It runs
as a task of its own: it waits for its place in the conversation's lane, takes the
conversation's lease, has the engine answer, and sends its final events only once its
place is given up, so a client that answers the moment it sees the reply is never told
the conversation is busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage

from threadline.chat.errors import ConversationBusy, ConversationNotFound
from threadline.chat.events import (
    Accepted,
    ConversationChanged,
    Event,
    Failed,
    Queued,
    Token,
)
from threadline.chat.turns.answers import answering
from threadline.chat.turns.attachments import Attachments
from threadline.chat.turns.audience import Audience
from threadline.chat.turns.branches import Fork
from threadline.chat.turns.failures import failed
from threadline.chat.turns.inputs import known_inputs, turn_inputs
from threadline.chat.turns.quota import Stake
from threadline.chat.turns.steps import pending_events, reply_events, step_events
from threadline.chat.turns.turn_parts import Answer, Decision, Send, TurnEngine, TurnServices
from threadline.chat.turns.turn_report import turn_report
from threadline.engine.approvals import AwaitingApproval
from threadline.engine.graph import CLIENT_TOOLS, MODEL_KEY
from threadline.engine.replies import Reply, reply_of
from threadline.engine.runner import TurnRunner
from threadline.observability.logs import log_context
from threadline.observability.metrics import QUEUED_TURNS
from threadline.storage.leases import LeaseHeld, NotAllowed

if TYPE_CHECKING:
    from threadline.chat.turns.lanes import Place

__all__ = ("Answer", "Decision", "Send", "Turn", "TurnEngine", "TurnServices")  # the parts


class Turn:
    """A user message (or a regenerate, `text` None) being answered."""

    def __init__(  # noqa: PLR0913 - the request's facts, each named
        self,
        services: TurnServices,
        user_id: str,
        conversation_id: str,
        text: str | None,
        *,
        message_id: str,
        reply_id: str,
        client_message_id: str | None,
        origin: Send,
        decision: Answer | None = None,
        stake: Stake | None = None,
        engine: TurnEngine | None = None,
        attachments: Attachments | None = None,
        results: Sequence[ToolMessage] | None = None,
        client_tools: Sequence[dict[str, Any]] = (),
        fork: Fork | None = None,
    ) -> None:
        self._services = services
        # Images and documents the message carries, checked (`attachments`).
        self.attachments = attachments or Attachments()
        # The conversation's assistant runs the turn (by default, the first served).
        self._runs = engine or TurnEngine(services.runner)
        self.user_id = user_id
        self.conversation_id = conversation_id
        self.text = text
        self.message_id = message_id
        self.reply_id = reply_id
        self.client_message_id = client_message_id
        # An approve, deny, respond or cancel: the turn resumes (or ends) a paused run
        # instead of adding a message.
        self.decision = decision
        # The results of calls the last turn left for the client's tools: the turn stores
        # them and the model answers on (instead of a message).
        self.results = results
        # Tools the client offers the model for this turn (built-in graph: `CLIENT_TOOLS`).
        self.client_tools = list(client_tools)
        # An edit (or a run from a checkpoint) branches off; so may a regenerate: the
        # checkpoint the run forks from, once its inputs are known (`branches`).
        self.fork = fork
        self.fork_from: str | None = None
        # The socket that asked for this turn; only it may withdraw the turn when it leaves.
        self.origin = origin
        self.messages: list[AnyMessage] = []  # the thread after the turn's latest step
        self.task: asyncio.Task[None] | None = None
        # Its listeners (attach, detach), and the events sent so far.
        self.audience = Audience(services.relay, user_id, conversation_id, reply_id, origin)
        self._replayed = False  # the reply was read from storage, not streamed: no `seq`
        self._place: Place | None = None
        self._acked = False
        self._stop_requested = False
        self._queued = False
        self._partial: list[str] = []
        self._streaming = reply_id  # the message whose tokens stream now
        self._steps: list[AIMessage | ToolMessage] = []  # tool calls and results, in order
        self._engine: asyncio.Task[Reply] | None = None
        # A new message's inputs, stored with the lease when they can be (else None).
        self._known = known_inputs(self)
        self._stake = stake  # what it reserved of the daily quota, and counts what it used

    async def _emit(self, event: Event) -> None:
        await self.audience.emit(event, numbered=not self._replayed)

    # Life cycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether this is its conversation's current turn (not waiting, not finished)."""
        return self._place is not None and self._place.granted and not self._place.left

    async def start(self, place: Place, ahead: int) -> None:
        """Begin: tell the listeners if turns are ahead, then run as a task of its own."""
        self._place = place
        if ahead:
            QUEUED_TURNS.inc()
            self._queued = True
            await self._emit(
                Queued(self.conversation_id, self.message_id, ahead, self.client_message_id)
            )
        # The task copies the context: every line it (and the tasks it starts) logs names
        # the turn.
        with log_context(conversation_id=self.conversation_id, turn_id=self.reply_id):
            self.task = asyncio.create_task(self._run())
        # However the task ends (even cancelled before it ran), the reservation goes back.
        self.task.add_done_callback(lambda _: self._count_usage(None, answered=False))

    def stop(self) -> None:
        """Stop the reply, keeping what was streamed.

        Before the message is stored the turn only notes it: it stops itself right after
        storing the message, so a stop never loses what the user sent.
        """
        self._stop_requested = True
        if self._acked and self._engine is not None:
            self._engine.cancel()

    async def withdraw(self, error: Failed | None = None) -> None:
        """Give the turn up: a waiting one never runs, a running one stops.

        Args:
            error: Told to the listeners of a waiting turn, which never runs now.
        """
        if self._place is not None and not self._place.granted:
            self._place.leave()
            if self.task is not None:
                self.task.cancel()
            if error is not None:
                await self._emit(error)
        else:
            self.stop()

    async def _run(self) -> None:
        with turn_report(self.conversation_id, self.reply_id) as report:
            assert self._place is not None  # noqa: S101 - set by start()
            try:
                try:
                    await self._place.wait()
                finally:
                    if self._queued:
                        QUEUED_TURNS.dec()
                events, updated = await self._take_turn()
            finally:
                self._place.leave()
            self._count_usage(None, answered=False)  # failed: what its finished calls used
            report.ended(events[0])
        for event in events:
            await self._emit(event)
        if updated is not None:
            await self._services.activity.tell(self.user_id, updated)

    async def _take_turn(self) -> tuple[list[Event], ConversationChanged | None]:
        """The turn's events, and the sidebar change it made (told once they are out)."""
        services = self._services
        try:
            # Taken only while the conversation is still the user's; the same statement
            # reads which checkpoint is latest (the turn may load it from memory), and
            # stores a new message's inputs.
            known = self._known
            ahead = self._runs.runner.store_ahead(self.conversation_id, known) if known else None
            async with services.leases.hold(
                self.conversation_id,
                wait=services.wait_for_lease,
                user_id=self.user_id,
                inputs=ahead.inputs if ahead is not None else None,
            ) as lease:
                try:
                    with self._runs.runner.trusting(self.conversation_id, lease.observed):
                        if ahead is None or not ahead.stored(lease.stored):
                            self._known = None  # not stored with the lease: the run stores them
                        events = await self._answer()
                except Exception as error:  # noqa: BLE001 - every failure becomes the turn's error
                    events = [failed(error, self.conversation_id, "turn.failed")]
                # Before the events go out, so a client that reacts to them finds its sidebar
                # current; the lease goes back in the same statement.
                updated = await services.activity.record(
                    self.user_id,
                    self.conversation_id,
                    self.messages,
                    new_message=self.text is not None,
                    lease=lease,
                )
                return events, updated
        except LeaseHeld:
            return [failed(ConversationBusy(), self.conversation_id, "turn.failed")], None
        except NotAllowed:  # deleted while this turn waited
            return [failed(ConversationNotFound(), self.conversation_id, "turn.failed")], None
        except Exception as error:  # noqa: BLE001 - every failure becomes the turn's error
            return [failed(error, self.conversation_id, "turn.failed")], None

    async def _answer(self) -> list[Event]:
        runner = self._runs.runner
        try:
            engine = await self._engine_run(runner)
            if isinstance(engine, Reply):  # a resend of an answered message: as stored
                self._replayed = True
                return reply_events(self.conversation_id, engine)
            self._engine = asyncio.create_task(engine)
            reply = await self._engine
        except AwaitingApproval as paused:
            self._count_usage(None)
            return [*pending_events(self.conversation_id, paused.pending)]
        except asyncio.CancelledError:
            if not self._stop_requested:
                raise
            partial = "".join(self._partial)
            stopped = await runner.save_stopped(
                self.conversation_id,
                self._streaming,
                partial,
                self._steps,
                model_name=self._runs.options.configurable.get(MODEL_KEY),
            )
            self.messages = [*self.messages, stopped]
            reply = reply_of(stopped, runner.model_name)
        self._count_usage(reply)
        return reply_events(self.conversation_id, reply)

    async def _engine_run(self, runner: TurnRunner) -> Coroutine[Any, Any, Reply] | Reply:
        """What the engine does for this turn: run new inputs, resume, or replay a reply."""
        stake = self._stake  # each model call reserves its share of the quota
        meters = stake.meters(inline=runner.builtin) if stake is not None else []
        context, configurable = self._runs.options
        if self.client_tools:
            configurable = {**(configurable or {}), CLIENT_TOOLS: self.client_tools}
        if self.results is not None:
            return runner.run(
                self.conversation_id,
                self.results,
                self.reply_id,
                self,
                user_id=self.user_id,
                callbacks=meters,
                context=context,
                configurable=configurable,
            )
        if self.decision is None and self._known is not None:
            return runner.run(
                self.conversation_id,
                self._known,
                self.reply_id,
                self,
                user_id=self.user_id,
                stored=True,
                callbacks=meters,
                context=context,
                configurable=configurable,
            )
        if self.decision is None:
            inputs = self._known or await turn_inputs(self, runner)
            stored = inputs is self._known  # by the lease's statement
            if isinstance(inputs, Reply):
                return inputs
            return runner.run(
                self.conversation_id,
                inputs,
                self.reply_id,
                self,
                user_id=self.user_id,
                stored=stored,
                fork_from=self.fork_from,
                callbacks=meters,
                context=context,
                configurable=configurable,
            )
        engine = await answering(self, runner, self.decision, meters, self._runs.options)
        self._acked = True  # nothing to store first: a stop may cut in at once
        return engine

    def _count_usage(self, reply: Reply | None, *, answered: bool = True) -> None:
        """Settle the turn's stake with what its model calls used (the first count only)."""
        if self._stake is not None:
            self._stake.settle_turn(self._steps, reply, answered=answered)

    # What the engine reports (`engine.runner.TurnListener`) --------------------------

    async def ack(self) -> None:
        """Tell the listeners, once, that the turn's message is stored."""
        if not self._acked:
            self._acked = True
            await self._emit(
                Accepted(self.conversation_id, self.message_id, self.client_message_id)
            )

    async def accepted(self) -> None:
        """The message is stored: acknowledge it, and stop now if a stop came meanwhile."""
        await self.ack()
        if self._stop_requested:
            raise asyncio.CancelledError

    async def delta(
        self, text: str, message_id: str | None = None, agent: str | None = None
    ) -> None:
        """A streamed piece of the reply (of another message, in a graph of the user's)."""
        streaming = message_id or self.reply_id
        if streaming != self._streaming:
            self._streaming, self._partial = streaming, []  # a new message: what stops now
        self._partial.append(text)
        said = msgspec.UNSET if agent is None else agent
        await self._emit(Token(self.conversation_id, streaming, text, agent=said))

    def state(self, messages: list[AnyMessage]) -> None:
        """The thread's messages after a step."""
        self.messages = messages

    async def step(self, message: AIMessage | ToolMessage) -> None:
        """A tool call or a tool's result: told to the listeners as it happens."""
        self._steps.append(message)
        for event in step_events(self.conversation_id, message):
            await self._emit(event)
