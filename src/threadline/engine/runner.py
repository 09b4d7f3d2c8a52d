"""Running the graph for one turn, and reading and amending a conversation's thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import CONFIG_KEY_RESUMING
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot, StreamMode

from threadline.clock import now
from threadline.engine.approvals import (
    ApprovalPending,
    ApprovalRequest,
    AwaitingApproval,
    PendingInterrupt,
    pending_of,
)
from threadline.engine.breakpoints import Breakpoints
from threadline.engine.channels import messages_in, messages_key
from threadline.engine.graph import RESPOND_NODE
from threadline.engine.messages import CREATED_AT, STOPPED
from threadline.engine.progress import Progress, TurnListener
from threadline.engine.replies import Reply
from threadline.engine.tools.node import answer_tool_errors, unanswered_calls
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.checkpoints.pending import Outcome, PendingInputs, StoredAhead
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.checkpoints.tree import CheckpointTree

__all__ = ("FAILED_BEFORE_ANSWER", "AnyGraph", "TurnListener", "TurnRunner")

logger = logging.getLogger(__name__)

# Metadata of the checkpoint that removed a rolled back reply (the LangGraph API's runs).
ROLLED_BACK = "rolled_back"
# The result a call gets when its run failed before the tool answered.
FAILED_BEFORE_ANSWER = "the turn failed before this tool answered"

# Threadline's own graph (`graph.ChatGraph`) or one brought along (`custom`).
AnyGraph = CompiledStateGraph[Any, Any, Any, Any]


def _config(
    conversation_id: str,
    reply_id: str | None = None,
    user_id: str | None = None,
    callbacks: Sequence[BaseCallbackHandler] = (),
    configurable: Mapping[str, Any] | None = None,
) -> RunnableConfig:
    # `user_id` is whom tools act for (a search reads only that user's conversations).
    # A graph's own `configurable` values go along (never in place of these: see assistants).
    ids = {"thread_id": conversation_id, "reply_id": reply_id, "user_id": user_id}
    config: RunnableConfig = {"configurable": {**(configurable or {}), **ids}}
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
        self._key = _messages_key(graph)
        answer_tool_errors(graph)  # a graph of the user's: its ToolNodes' failures answer
        self._breakpoints = None if builtin else Breakpoints.of(graph)
        self._ledger = Ledger(saver, self._key)
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

    def messages(self, values: Any) -> list[AnyMessage]:
        """The messages in a state's values of this graph, under its own messages key."""
        return messages_in(values, self._key)

    async def run(  # noqa: PLR0913 - the turn's facts, each named
        self,
        conversation_id: str,
        inputs: Sequence[BaseMessage],
        reply_id: str,
        listener: TurnListener,
        *,
        user_id: str | None = None,
        stored: bool = False,
        fork_from: str | None = None,
        callbacks: Sequence[BaseCallbackHandler] = (),
        context: Any = None,
        configurable: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Apply `inputs` to the thread and produce the assistant's reply.

        Args:
            conversation_id: The thread to continue.
            inputs: Messages to add (or `RemoveMessage`s) before the model answers.
            reply_id: The id the reply is stored under, known before the first token.
            listener: Told of acceptance, each token and each new state, in order.
            user_id: Whom the turn is for: the tools act for this user only.
            stored: The inputs are stored already (`store_ahead`).
            fork_from: Apply the inputs at this earlier checkpoint instead: the run's
                checkpoints start a branch from there (LangGraph's fork), the latest.
            callbacks: LangChain callbacks of the run, told of each model call before it
                is made (one may refuse it by raising).
            context: The graph's `runtime.context` (for a graph with a `context_schema`).
            configurable: The graph's own `configurable` values.

        Returns:
            The reply, after its checkpoint is written.

        Raises:
            TimeoutError: The turn took longer than the configured bound.
        """
        config = _config(conversation_id, reply_id, user_id, callbacks, configurable)
        async with self._bounded(conversation_id, listener):
            # The inputs are stored before the ack, which promises exactly that. The run
            # that answers them saves once, at its end (durability="exit").
            command: Command[Any] | None = None
            if fork_from is not None:
                await self._fork(config, fork_from, inputs)
            elif stored:
                command = Command(goto=RESPOND_NODE)
            else:
                command = await self._store_inputs(config, inputs)
            await listener.accepted()
            if self._breakpoints is not None and self._breakpoints.before:
                # A new input, not a resume: a breakpoint before a first node stops the run
                # before anything runs, as on a LangGraph server (see `breakpoints`).
                config["configurable"][CONFIG_KEY_RESUMING] = False
            return await self._stream(command, config, reply_id, listener, context)

    async def resume(  # noqa: PLR0913 - the paused run and the answers, each named
        self,
        conversation_id: str,
        answers: dict[str, Any],
        reply_id: str,
        listener: TurnListener,
        *,
        user_id: str | None = None,
        callbacks: Sequence[BaseCallbackHandler] = (),
        context: Any = None,
        configurable: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Continue a paused run with the user's answers, by interrupt id.

        Raises:
            AwaitingApproval: The run paused again (at the next interrupt, or on those
                still unanswered).
        """
        config = _config(conversation_id, reply_id, user_id, callbacks, configurable)
        command: Command[Any] | None = Command(resume=answers)
        if (stop := await self._breakpoint(conversation_id)) and stop.interrupt_id in answers:
            command = None  # a breakpoint is passed by running on, with no input
        async with self._bounded(conversation_id, listener):
            return await self._stream(command, config, reply_id, listener, context)

    @asynccontextmanager
    async def _bounded(self, conversation_id: str, listener: TurnListener) -> AsyncIterator[None]:
        """A run within the turn's time; whatever fails in it, the thread stays valid."""
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except (AwaitingApproval, ApprovalPending):
            raise
        except Exception:
            await self._answer_calls(conversation_id, listener)
            raise

    async def _answer_calls(self, conversation_id: str, listener: TurnListener) -> None:
        """Store and tell an error result for each call a failed run left unanswered.

        A model refuses a history with a call and no result: without these, every later
        turn of the conversation would fail too.
        """
        config = _config(conversation_id)
        try:
            snapshot = await self._graph.aget_state(config)
            messages = messages_in(snapshot.values, self._key)
            results = unanswered_calls(messages, FAILED_BEFORE_ANSWER)
            if results:
                await self._checkpoint(config, results, self._writer)
        except Exception as error:  # noqa: BLE001 - the run's own failure is the one reported
            logger.warning("thread.unanswered_calls", extra={"error": type(error).__name__})
            return
        for result in results:
            await listener.step(result)

    async def pending_interrupts(self, conversation_id: str) -> list[PendingInterrupt]:
        """What the conversation's run is paused on, in order (nothing if it is not)."""
        snapshot = await self._graph.aget_state(_config(conversation_id))
        if snapshot.interrupts:
            return pending_of(snapshot.interrupts, messages_in(snapshot.values, self._key))
        stop = await self._stopped_at(snapshot)
        return [stop] if stop is not None else []

    async def _breakpoint(self, conversation_id: str) -> PendingInterrupt | None:
        """The compiled breakpoint the conversation's run waits at, if any."""
        if self._breakpoints is None:
            return None
        return await self._stopped_at(await self._graph.aget_state(_config(conversation_id)))

    async def _stopped_at(self, snapshot: StateSnapshot) -> PendingInterrupt | None:
        if self._breakpoints is None:
            return None
        messages = messages_in(snapshot.values, self._key)
        return await self._breakpoints.stopped_at(self._graph, snapshot, messages)

    async def pending_approval(self, conversation_id: str) -> ApprovalRequest | None:
        """The first tool call the conversation's run waits on the user's approval for."""
        pending = await self.pending_interrupts(conversation_id)
        return next((a for p in pending for a in p.approvals), None)

    async def cancel(self, conversation_id: str, reply_id: str) -> AIMessage:
        """Drop what the paused run waits for: it ends as a stopped, empty reply.

        Its tool calls still open get a result saying so, so the thread stays valid for the
        model; the next message then runs as after any stopped reply.
        """
        messages = await self.window(conversation_id)
        last_user = max(
            (i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1
        )
        steps = [m for m in messages[last_user + 1 :] if isinstance(m, AIMessage | ToolMessage)]
        return await self.save_stopped(conversation_id, reply_id, "", steps, steps_stored=True)

    async def _stream(
        self,
        command: Command[Any] | None,
        config: RunnableConfig,
        reply_id: str,
        listener: TurnListener,
        context: Any = None,
    ) -> Reply:
        progress = Progress(self._key, reply_id, listener)
        async for part in self._graph.astream(
            command,
            config,
            context=context,
            stream_mode=self._modes,
            durability="exit",
            version="v2",
            # A graph of one's own may call its model in subgraphs (a supervisor's team);
            # the built-in graph has none, and streaming their namespaces costs a turn.
            subgraphs=not self._builtin,
        ):
            await progress.take(part)
        if progress.paused:
            raise AwaitingApproval(pending_of(progress.paused, progress.messages))
        thread_id = config["configurable"]["thread_id"]
        if progress.halted and (stop := await self._breakpoint(thread_id)):
            raise AwaitingApproval([stop])
        return progress.reply(
            self.model_name, named=self._builtin, context_tokens=self._context_tokens
        )

    async def _fork(
        self, config: RunnableConfig, checkpoint_id: str, inputs: Sequence[BaseMessage]
    ) -> None:
        """Write `inputs` as a child of checkpoint `checkpoint_id`: the run goes on from it.

        LangGraph stores the child's messages whole (the checkpoint's writes led to its
        other children), and the child, the newest, is the thread's latest from now on.
        """
        at: RunnableConfig = {
            **config,
            "configurable": {**config["configurable"], "checkpoint_id": checkpoint_id},
        }
        await self._graph.aupdate_state(at, {self._key: list(inputs)}, as_node=START)

    async def switch(self, conversation_id: str, checkpoint_id: str) -> None:
        """Make checkpoint `checkpoint_id` the thread's latest, as a copy (`__copy__`).

        Messages still waiting on it (a failed turn's, never answered) are not copied by
        LangGraph: then the new latest is a child of it holding them, as the runner's own
        writes are.
        """
        at = _config(conversation_id)
        at["configurable"]["checkpoint_id"] = checkpoint_id
        if waiting := await self._pending.waiting(conversation_id, checkpoint_id):
            await self._graph.aupdate_state(at, {self._key: waiting}, as_node=self._writer)
        else:
            await self._graph.aupdate_state(at, None, as_node="__copy__")

    async def tree(self, conversation_id: str) -> CheckpointTree:
        """The thread's checkpoints as a tree, each branch's transcript readable."""
        return await self._ledger.tree(conversation_id)

    async def _store_inputs(
        self, config: RunnableConfig, inputs: Sequence[BaseMessage]
    ) -> Command[str] | None:
        """Store the turn's inputs durably; returns what the run must be started with."""
        thread_id = config["configurable"]["thread_id"]
        if not self._builtin:
            # A graph of the user's: its entry is not known, so the inputs become a
            # checkpoint of their own (as LangGraph itself stores a run's input).
            if pending := await self.pending_interrupts(thread_id):
                raise ApprovalPending(pending[0].interrupt_id)
            await self._checkpoint(config, inputs, START)
            return None
        outcome = await self._pending.store(thread_id, inputs)
        if outcome is Outcome.INTERRUPTED:
            pending = await self.pending_interrupts(thread_id)
            raise ApprovalPending(pending[0].interrupt_id if pending else None)
        if outcome is Outcome.STORED:
            # Waiting on the latest checkpoint: the run applies them, then answers.
            return Command(goto=RESPOND_NODE)
        if outcome is Outcome.NEW_THREAD:
            # An empty state first, as LangGraph's own runs begin a thread: the first
            # message's state then has a parent to fork from (an edit of it, a sibling).
            await self._graph.aupdate_state(config, {self._key: []}, as_node=START)
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
        update = {self._key: [*waiting, *messages]}
        await self._graph.aupdate_state(config, update, as_node=as_node)

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
        return messages_in(snapshot.values, self._key)

    async def transcript(self, conversation_id: str) -> list[AnyMessage]:
        """Every stored message of the conversation, oldest first."""
        return await self._ledger.transcript(conversation_id)

    @property
    def messages_key(self) -> str:
        """The key of the graph's state its messages are under."""
        return self._key

    async def waiting(self, conversation_id: str, checkpoint_id: str) -> list[BaseMessage]:
        """The inputs that wait on one of the conversation's checkpoints for a run."""
        return await self._pending.waiting(conversation_id, checkpoint_id)

    async def continued_inputs(
        self, conversation_id: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, set[str]]:
        """By checkpoint (of those), the ids of the inputs that waited on it for a later one."""
        return await self._ledger.continued_inputs(conversation_id, checkpoint_ids)

    async def transcript_at(self, conversation_id: str, checkpoint_id: str) -> list[AnyMessage]:
        """The conversation's messages as they stood at one of its checkpoints."""
        return await self._ledger.transcript_at(conversation_id, checkpoint_id)

    async def latest_checkpoint(self, conversation_id: str) -> str | None:
        """The id of the conversation's latest checkpoint; None if it has none yet."""
        snapshot = await self._graph.aget_state(_config(conversation_id))
        checkpoint_id: str | None = snapshot.config["configurable"].get("checkpoint_id")
        return checkpoint_id if snapshot.created_at else None

    async def write_messages(self, conversation_id: str, messages: Sequence[BaseMessage]) -> None:
        """Write `messages` to the thread as its own (an import): at rest, and continuable."""
        await self._checkpoint(
            _config(conversation_id), messages, self._writer, look_for_waiting=False
        )

    async def save_stopped(  # noqa: PLR0913 - the stopped reply's facts, each named
        self,
        conversation_id: str,
        reply_id: str,
        content: str,
        steps: Sequence[AIMessage | ToolMessage] = (),
        *,
        steps_stored: bool = False,
        model_name: str | None = None,
    ) -> AIMessage:
        """Store what was streamed of a stopped reply as the assistant's message.

        It is written as the graph node's own output, so the thread stays valid and the
        next turn (and the model) sees the partial reply like any other. The turn's tool
        calls and results go first (unless `steps_stored`: in the thread already); a call
        stopped before its result gets one saying so, since a model is never sent a call
        without its result. `model_name`: the model that wrote it (None: the default).
        """
        model = model_name or self.model_name
        metadata = {"model_name": model, STOPPED: True, CREATED_AT: now()}
        message = AIMessage(content=content, id=reply_id, response_metadata=metadata)
        written = [*([] if steps_stored else steps), *unanswered_calls(steps), message]
        # Under the reply's id, as every checkpoint of its run (the LangGraph API's runs).
        await self._checkpoint(_config(conversation_id, reply_id), written, self._writer)
        return message

    @property
    def _writer(self) -> str:
        """The node the messages the runner writes are attributed to.

        Threadline's answering node; in a graph of the user's, the input, so that nothing
        runs until the next message.
        """
        return RESPOND_NODE if self._builtin else START

    async def discard(
        self, conversation_id: str, message_ids: Sequence[str], reply_id: str
    ) -> None:
        """Remove a turn's messages from the thread (its reply rolled back).

        The checkpoint says so in its metadata (`rolled_back`, under the turn's id).
        """
        removed = [RemoveMessage(id=message_id) for message_id in message_ids]
        config = _config(conversation_id, reply_id, configurable={ROLLED_BACK: True})
        await self._checkpoint(config, removed, self._writer)

    async def delete(self, conversation_id: str) -> None:
        """Delete the thread: every checkpoint and pending write of the conversation."""
        await _saver(self._graph).adelete_thread(conversation_id)


def _messages_key(graph: AnyGraph) -> str:
    """Where the graph keeps its messages: Threadline's window, or a graph's own channel."""
    key = messages_key(graph.channels)
    if key is None:
        msg = "the graph's state has no messages channel (reduced by add_messages)"
        raise TypeError(msg)
    return key


def _saver(graph: AnyGraph) -> AsyncPostgresSaver:
    checkpointer = graph.checkpointer
    if not isinstance(checkpointer, AsyncPostgresSaver):
        msg = "the graph must be compiled with a PostgreSQL checkpointer"
        raise TypeError(msg)
    return checkpointer
