"""Running the graph for one turn, and reading and amending a conversation's thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

import msgspec
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import INTERRUPT
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Interrupt, StreamMode

from threadline.clock import now
from threadline.engine.approvals import (
    ApprovalPending,
    ApprovalRequest,
    AwaitingApproval,
    request_of,
)
from threadline.engine.context import ContextReport, estimate_tokens, visible
from threadline.engine.graph import RESPOND_NODE
from threadline.engine.messages import CREATED_AT, STOPPED
from threadline.engine.replies import Reply, is_step, reply_of, written_messages
from threadline.engine.tools.node import unanswered_calls
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.checkpoints.mirror import OBSERVE_SQL
from threadline.storage.checkpoints.pending import Outcome, PendingInputs, StoredAhead
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.leases import Also

__all__ = ("AnyGraph", "TurnListener", "TurnRunner")

# Threadline's own graph (`graph.ChatGraph`) or one brought along (`custom`).
AnyGraph = CompiledStateGraph[Any, Any, Any, Any]


class TurnListener(Protocol):
    """What a running turn reports, in order."""

    async def accepted(self) -> None:
        """The turn's inputs are durably stored; no token has been sent yet."""

    async def delta(self, text: str, message_id: str | None = None) -> None:
        """A streamed piece of the reply (of message `message_id`, if not the reply's id)."""

    def state(self, messages: list[AnyMessage]) -> None:
        """The thread's messages after a step (the inputs applied, then the reply)."""

    async def step(self, message: AIMessage | ToolMessage) -> None:
        """A message on the way to the reply: one asking for tools, or a tool's result."""


def _config(
    conversation_id: str,
    reply_id: str | None = None,
    user_id: str | None = None,
    callbacks: Sequence[BaseCallbackHandler] = (),
) -> RunnableConfig:
    # `user_id` is whom tools act for (a search reads only that user's conversations).
    config: RunnableConfig = {
        "configurable": {"thread_id": conversation_id, "reply_id": reply_id, "user_id": user_id}
    }
    if callbacks:  # told of every model call of the run (a turn's quota meter)
        config["callbacks"] = list(callbacks)
    return config


class TurnRunner:
    """Graph operations on conversations; the thread id is the conversation id."""

    def __init__(
        self,
        graph: AnyGraph,
        model_name: str,
        timeout: float,
        *,
        builtin: bool = True,
        context_tokens: int = 32_000,
    ) -> None:
        self._graph = graph
        saver = _saver(graph)
        self._ledger = Ledger(saver)
        self._pending = PendingInputs(saver)
        self.model_name = model_name
        self._timeout = timeout
        # Threadline's own graph streams tokens through LangGraph's custom stream, answers
        # in its `respond` node and names its reply; a graph brought along (THREADLINE_GRAPH)
        # streams through the messages stream, and its reply is its last new answer.
        self._builtin = builtin
        self._context_tokens = context_tokens
        tokens: StreamMode = "custom" if builtin else "messages"
        self._modes: list[StreamMode] = ["values", "updates", tokens]

    @property
    def graph(self) -> AnyGraph:
        """The compiled graph the turns run (its state is the conversation's thread)."""
        return self._graph

    @property
    def builtin(self) -> bool:
        """Whether the graph is Threadline's own, not one brought along."""
        return self._builtin

    async def run(  # noqa: PLR0913 - the turn's facts, each named
        self,
        conversation_id: str,
        inputs: Sequence[BaseMessage],
        reply_id: str,
        listener: TurnListener,
        *,
        user_id: str | None = None,
        stored: bool = False,
        callbacks: Sequence[BaseCallbackHandler] = (),
    ) -> Reply:
        """Apply `inputs` to the thread and produce the assistant's reply.

        Args:
            conversation_id: The thread to continue.
            inputs: Messages to add (or `RemoveMessage`s) before the model answers.
            reply_id: The id the reply is stored under, known before the first token.
            listener: Told of acceptance, each token and each new state, in order.
            user_id: Whom the turn is for: the tools act for this user only.
            stored: The inputs are stored already (`store_ahead`).
            callbacks: LangChain callbacks of the run, told of each model call before it
                is made (one may refuse it by raising).

        Returns:
            The reply, after its checkpoint is written.

        Raises:
            TimeoutError: The turn took longer than the configured bound.
        """
        config = _config(conversation_id, reply_id, user_id, callbacks)
        async with asyncio.timeout(self._timeout):
            # The inputs are stored before the ack, which promises exactly that. The run
            # that answers them saves once, at its end (durability="exit").
            command = (
                Command(goto=RESPOND_NODE) if stored else await self._store_inputs(config, inputs)
            )
            await listener.accepted()
            return await self._stream(command, config, reply_id, listener)

    async def resume(  # noqa: PLR0913 - the paused run and the decision, each named
        self,
        conversation_id: str,
        request: ApprovalRequest,
        approved: bool,
        reply_id: str,
        listener: TurnListener,
        *,
        user_id: str | None = None,
        callbacks: Sequence[BaseCallbackHandler] = (),
    ) -> Reply:
        """Continue a run paused for an approval, with the user's decision.

        Raises:
            AwaitingApproval: The run paused again, at the next call needing approval.
        """
        config = _config(conversation_id, reply_id, user_id, callbacks)
        command: Command[Any] = Command(resume={request.interrupt_id: {"approved": approved}})
        async with asyncio.timeout(self._timeout):
            return await self._stream(command, config, reply_id, listener)

    async def pending_approval(self, conversation_id: str) -> ApprovalRequest | None:
        """The tool call the conversation's run is paused on, if it is."""
        snapshot = await self._graph.aget_state(_config(conversation_id))
        for pending in snapshot.interrupts:
            return request_of(pending)
        return None

    async def _stream(
        self,
        command: Command[Any] | None,
        config: RunnableConfig,
        reply_id: str,
        listener: TurnListener,
    ) -> Reply:
        messages: list[AnyMessage] = []
        paused: list[Interrupt] = []
        written: set[str] = set()
        async for part in self._graph.astream(
            command, config, stream_mode=self._modes, durability="exit", version="v2"
        ):
            if part["type"] == "values":
                messages = part["data"].get("messages", [])
                listener.state(messages)
            elif part["type"] == "custom":
                await listener.delta(part["data"])  # a token (see `retry.stream_reply`)
            elif part["type"] == "messages":
                chunk = part["data"][0]
                if isinstance(chunk, AIMessageChunk) and (text := str(chunk.text)):
                    await listener.delta(text, chunk.id)
            elif part["type"] == "updates":
                paused += part["data"].get(INTERRUPT, ())
                for message in written_messages(part["data"]):
                    if message.id:
                        written.add(message.id)
                    if is_step(message, reply_id):
                        await listener.step(message)
        if paused:
            raise AwaitingApproval(request_of(paused[0]))
        reply = reply_of(self._final(messages, reply_id, written), self.model_name)
        if reply.context is None:  # a graph of the user's: what its model was shown
            reply = reply._replace(context=self._report(messages))
        return reply

    def _report(self, messages: list[AnyMessage]) -> dict[str, Any]:
        """The context report of a graph that keeps its whole history in its state."""
        shown = len(visible(messages))
        report = ContextReport(
            tokens_used=estimate_tokens(messages),
            token_budget=self._context_tokens,
            messages_total=shown,
            messages_in_context=shown,
            summarized=False,
        )
        return msgspec.structs.asdict(report)

    def _final(self, messages: list[AnyMessage], reply_id: str, written: set[str]) -> AIMessage:
        """The run's reply: its newest message, an answer this very run wrote."""
        final = messages[-1] if messages else None
        wanted = {reply_id} if self._builtin else written
        if not isinstance(final, AIMessage) or final.tool_calls or final.id not in wanted:
            msg = "the graph finished without a reply"
            raise RuntimeError(msg)
        return final

    async def _store_inputs(
        self, config: RunnableConfig, inputs: Sequence[BaseMessage]
    ) -> Command[str] | None:
        """Store the turn's inputs durably; returns what the run must be started with."""
        thread_id = config["configurable"]["thread_id"]
        if not self._builtin:
            # A graph of the user's: its entry is not known, so the inputs become a
            # checkpoint of their own (as LangGraph itself stores a run's input).
            if await self.pending_approval(thread_id) is not None:
                raise ApprovalPending
            await self._checkpoint(config, inputs, START)
            return None
        outcome = await self._pending.store(thread_id, inputs)
        if outcome is Outcome.INTERRUPTED:
            raise ApprovalPending
        if outcome is Outcome.STORED:
            # Waiting on the latest checkpoint: the run applies them, then answers.
            return Command(goto=RESPOND_NODE)
        # A new thread, or inputs of a turn that never finished wait there: store them all
        # as a checkpoint of their own, which the run then continues from.
        waiting = outcome is Outcome.BEHIND_WAITING
        await self._checkpoint(config, inputs, START, look_for_waiting=waiting)
        return None

    async def _checkpoint(
        self,
        config: RunnableConfig,
        messages: Sequence[BaseMessage],
        as_node: str,
        *,
        look_for_waiting: bool = True,
    ) -> None:
        """Write `messages` as a new checkpoint of the thread, as `as_node`'s output.

        A new checkpoint leaves behind the inputs still waiting on the latest one, so they
        go in first. `look_for_waiting=False` skips the lookup when there are none.
        """
        thread_id = config["configurable"]["thread_id"]
        waiting = await self._pending.waiting(thread_id) if look_for_waiting else []
        update = {"messages": [*waiting, *messages]}
        await self._graph.aupdate_state(config, update, as_node=as_node)

    @staticmethod
    def observation(conversation_id: str) -> Also:
        """What the statement taking a turn's lease reads of the thread, for `trusting`."""
        return Also("", ",\n" + OBSERVE_SQL + " AS observed", {"observed_thread": conversation_id})

    def store_ahead(
        self, conversation_id: str, inputs: Sequence[BaseMessage]
    ) -> StoredAhead | None:
        """Inputs known before the lease, stored by the statement taking it (`run(stored=)`)."""
        return self._pending.alongside_lease(conversation_id, inputs) if self._builtin else None

    def trusting(self, conversation_id: str, observed: str | None) -> AbstractContextManager[None]:
        """A block in which this task, holding the lease, may load the thread from memory."""
        saver = _saver(self._graph)
        if isinstance(saver, PooledPostgresSaver):
            return saver.trusting(conversation_id, observed)
        return nullcontext()

    async def window(self, conversation_id: str) -> list[AnyMessage]:
        """The messages the model still sees verbatim (the newest), oldest first."""
        snapshot = await self._graph.aget_state(_config(conversation_id))
        messages: list[AnyMessage] = snapshot.values.get("messages", [])
        return messages

    async def transcript(self, conversation_id: str) -> list[AnyMessage]:
        """Every stored message of the conversation, oldest first."""
        return await self._ledger.transcript(conversation_id)

    async def save_stopped(
        self,
        conversation_id: str,
        reply_id: str,
        content: str,
        steps: Sequence[AIMessage | ToolMessage] = (),
    ) -> AIMessage:
        """Store what was streamed of a stopped reply as the assistant's message.

        It is written as the graph node's own output, so the thread stays valid and the
        next turn (and the model) sees the partial reply like any other. The turn's tool
        calls and results go first; a call stopped before its result gets one saying so,
        since a model is never sent a call without its result.
        """
        metadata = {"model_name": self.model_name, STOPPED: True, CREATED_AT: now()}
        message = AIMessage(content=content, id=reply_id, response_metadata=metadata)
        written = [*steps, *unanswered_calls(steps), message]
        # Written as Threadline's answering node; in a graph of the user's, as input, so
        # that nothing runs until the next message.
        as_node = RESPOND_NODE if self._builtin else START
        await self._checkpoint(_config(conversation_id), written, as_node)
        return message

    async def delete(self, conversation_id: str) -> None:
        """Delete the thread: every checkpoint and pending write of the conversation."""
        await _saver(self._graph).adelete_thread(conversation_id)


def _saver(graph: AnyGraph) -> AsyncPostgresSaver:
    checkpointer = graph.checkpointer
    if not isinstance(checkpointer, AsyncPostgresSaver):
        msg = "the graph must be compiled with a PostgreSQL checkpointer"
        raise TypeError(msg)
    return checkpointer
