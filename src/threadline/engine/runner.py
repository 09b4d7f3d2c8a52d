"""Running the graph for one turn, and reading and amending a conversation's thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import INTERRUPT
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START
from langgraph.types import Command, Interrupt

from threadline.clock import now
from threadline.engine.approvals import (
    ApprovalPending,
    ApprovalRequest,
    AwaitingApproval,
    request_of,
)
from threadline.engine.context import estimate_tokens
from threadline.engine.graph import RESPOND_NODE, ChatGraph
from threadline.engine.messages import CONTEXT, CREATED_AT, STOPPED, TOKENS
from threadline.engine.tools.node import unanswered_calls
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.checkpoints.pending import Outcome, PendingInputs

__all__ = ("Reply", "TurnListener", "TurnRunner", "reply_of")


class Reply(NamedTuple):
    """The assistant's persisted reply."""

    message_id: str
    content: str
    model: str
    stopped: bool = False
    # The ContextReport fields of the turn that wrote it (absent for stopped replies).
    context: dict[str, Any] | None = None
    # Model tokens the turn used (estimated for a stopped reply: its text only).
    tokens: int = 0


class TurnListener(Protocol):
    """What a running turn reports, in order."""

    async def accepted(self) -> None:
        """The turn's inputs are durably stored; no token has been sent yet."""

    async def delta(self, text: str) -> None:
        """A streamed piece of the reply."""

    def state(self, messages: list[AnyMessage]) -> None:
        """The thread's messages after a step (the inputs applied, then the reply)."""

    async def step(self, message: AIMessage | ToolMessage) -> None:
        """A message on the way to the reply: one asking for tools, or a tool's result."""


def reply_of(message: AIMessage, default_model: str) -> Reply:
    """Describe a stored assistant message as a `Reply`."""
    metadata = message.response_metadata
    return Reply(
        message_id=message.id or "",
        content=str(message.text),
        model=metadata.get("model_name") or default_model,
        stopped=bool(metadata.get(STOPPED)),
        context=metadata.get(CONTEXT),
        tokens=int(metadata.get(TOKENS) or estimate_tokens([message])),
    )


def _steps(updates: dict[str, Any], reply_id: str) -> list[AIMessage | ToolMessage]:
    """The tool calls and tool results among what the nodes of a step wrote."""
    found: list[AIMessage | ToolMessage] = []
    for output in updates.values():
        written = output.get("messages", []) if isinstance(output, dict) else []
        for message in written if isinstance(written, list) else [written]:
            if isinstance(message, ToolMessage) or (
                isinstance(message, AIMessage) and message.tool_calls and message.id != reply_id
            ):
                found.append(message)
    return found


def _config(conversation_id: str, reply_id: str | None = None) -> RunnableConfig:
    return {"configurable": {"thread_id": conversation_id, "reply_id": reply_id}}


class TurnRunner:
    """Graph operations on conversations; the thread id is the conversation id."""

    def __init__(self, graph: ChatGraph, model_name: str, timeout: float) -> None:
        self._graph = graph
        saver = _saver(graph)
        self._ledger = Ledger(saver)
        self._pending = PendingInputs(saver)
        self.model_name = model_name
        self._timeout = timeout

    async def run(
        self,
        conversation_id: str,
        inputs: Sequence[BaseMessage],
        reply_id: str,
        listener: TurnListener,
    ) -> Reply:
        """Apply `inputs` to the thread and produce the assistant's reply.

        Args:
            conversation_id: The thread to continue.
            inputs: Messages to add (or `RemoveMessage`s) before the model answers.
            reply_id: The id the reply is stored under, known before the first token.
            listener: Told of acceptance, each token and each new state, in order.

        Returns:
            The reply, after its checkpoint is written.

        Raises:
            TimeoutError: The turn took longer than the configured bound.
        """
        config = _config(conversation_id, reply_id)
        async with asyncio.timeout(self._timeout):
            # The inputs are stored before the ack, which promises exactly that. The run
            # that answers them saves once, at its end (durability="exit").
            command = await self._store_inputs(config, inputs)
            await listener.accepted()
            return await self._stream(command, config, reply_id, listener)

    async def resume(
        self,
        conversation_id: str,
        request: ApprovalRequest,
        approved: bool,
        reply_id: str,
        listener: TurnListener,
    ) -> Reply:
        """Continue a run paused for an approval, with the user's decision.

        Raises:
            AwaitingApproval: The run paused again, at the next call needing approval.
        """
        config = _config(conversation_id, reply_id)
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
        async for part in self._graph.astream(
            command,
            config,
            stream_mode=["values", "updates", "custom"],
            durability="exit",
            version="v2",
        ):
            if part["type"] == "values":
                messages = part["data"].get("messages", [])
                listener.state(messages)
            elif part["type"] == "custom":
                await listener.delta(part["data"])  # a token (see `retry.stream_reply`)
            elif part["type"] == "updates":
                paused += part["data"].get(INTERRUPT, ())
                for message in _steps(part["data"], reply_id):
                    await listener.step(message)
        if paused:
            raise AwaitingApproval(request_of(paused[0]))
        # The last state holds the reply as its newest message.
        final = messages[-1] if messages else None
        if not isinstance(final, AIMessage) or final.id != reply_id:
            msg = "the graph finished without a reply"
            raise RuntimeError(msg)
        return reply_of(final, self.model_name)

    async def _store_inputs(
        self, config: RunnableConfig, inputs: Sequence[BaseMessage]
    ) -> Command[str] | None:
        """Store the turn's inputs durably; returns what the run must be started with."""
        thread_id = config["configurable"]["thread_id"]
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
        await self._checkpoint(_config(conversation_id), written, RESPOND_NODE)
        return message

    async def delete(self, conversation_id: str) -> None:
        """Delete the thread: every checkpoint and pending write of the conversation."""
        await _saver(self._graph).adelete_thread(conversation_id)


def _saver(graph: ChatGraph) -> AsyncPostgresSaver:
    checkpointer = graph.checkpointer
    if not isinstance(checkpointer, AsyncPostgresSaver):
        msg = "the graph must be compiled with a PostgreSQL checkpointer"
        raise TypeError(msg)
    return checkpointer
