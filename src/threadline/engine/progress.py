"""One run's stream, read as it comes: tokens, new steps, the thread's state, the reply.

A run is streamed with its subgraphs (`subgraphs=True`), so agents that call their model
inside a subgraph (a supervisor's team, a swarm) stream their tokens too, each naming its
agent. A step (a tool call or a result) is told once, and only if this run wrote it: a node
that returns the whole message list, a subgraph and then its parent writing the same step,
all write steps the listener has heard of already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, BaseMessage, ToolMessage
from langgraph._internal._constants import INTERRUPT
from langgraph.types import Interrupt

from threadline.engine.channels import messages_in
from threadline.engine.context import ContextReport, estimate_tokens, visible
from threadline.engine.replies import Reply, is_step, reply_of, step_key, written_messages

__all__ = ("Progress", "TurnListener", "agent_of")

# Where a subgraph's nodes write their messages (prebuilt agents, supervisors, swarms).
_SUBGRAPH_KEY = "messages"


class TurnListener(Protocol):
    """What a running turn reports, in order."""

    async def accepted(self) -> None:
        """The turn's inputs are durably stored; no token has been sent yet."""

    async def delta(
        self, text: str, message_id: str | None = None, agent: str | None = None
    ) -> None:
        """A streamed piece of the reply (of message `message_id`, if not the reply's id).

        `agent` names the subgraph that says it, when a subgraph of the graph streams it.
        """

    def state(self, messages: list[AnyMessage]) -> None:
        """The thread's messages after a step (the inputs applied, then the reply)."""

    async def step(self, message: AIMessage | ToolMessage) -> None:
        """A message on the way to the reply: one asking for tools, or a tool's result."""


def agent_of(namespace: tuple[str, ...]) -> str | None:
    """The agent an event comes from: the innermost subgraph's node (None: the graph's own)."""
    return namespace[-1].split(":", 1)[0] if namespace else None


class Progress:
    """What one run's stream has told so far."""

    def __init__(self, key: str, reply_id: str, listener: TurnListener) -> None:
        """Read a run of a graph whose messages are under `key`, reporting to `listener`."""
        self._key = key
        self._reply_id = reply_id
        self._listener = listener
        self.messages: list[AnyMessage] = []  # the thread's, after the latest step
        self.paused: list[Interrupt] = []
        self.halted = False  # the run stopped at an interrupt or a compiled breakpoint
        self.written: set[str] = set()  # ids of the messages this run wrote
        # The ids and step keys of the thread's messages before the run (its first state).
        self._before: set[str] | None = None
        self._told: set[str] = set()  # the step keys told to the listener

    async def take(self, part: Mapping[str, Any]) -> None:
        """Read one part of the stream (`version="v2"`, with its subgraphs' namespace)."""
        kind, data, namespace = part["type"], part["data"], part.get("ns", ())
        if kind == "values" and not namespace:
            self._values(data)
        elif kind == "custom" and not namespace:
            await self._listener.delta(data)  # a token (see `retry.stream_reply`)
        elif kind == "messages":
            chunk = data[0]
            if isinstance(chunk, AIMessageChunk) and (text := str(chunk.text)):
                await self._listener.delta(text, chunk.id, agent_of(namespace))
        elif kind == "updates":
            if not namespace and INTERRUPT in data:
                self.halted = True
                self.paused += data[INTERRUPT]
            keys = {self._key, _SUBGRAPH_KEY} if namespace else {self._key}
            for message in written_messages(data, keys):
                await self._written(message)

    def _values(self, values: Any) -> None:
        self.messages = messages_in(values, self._key)
        if self._before is None:
            self._before = {m.id for m in self.messages if m.id}
            self._before |= {k for m in self.messages if (k := step_key(m))}
        self._listener.state(self.messages)

    async def _written(self, message: BaseMessage) -> None:
        key = step_key(message)
        before = self._before or set()
        if message.id in before or key in before:
            return  # a node that returned messages the thread had already
        if message.id:
            self.written.add(message.id)
        if key is not None and key not in self._told and is_step(message, self._reply_id):
            self._told.add(key)
            await self._listener.step(message)

    def reply(self, model_name: str, *, named: bool, context_tokens: int) -> Reply:
        """The run's reply: the thread's newest message, an answer this very run wrote.

        Or the calls it ended on, for tools the graph does not run (the client's).

        Args:
            model_name: The model named on a reply that names none.
            named: The reply must carry the run's reply id (Threadline's own graph).
            context_tokens: The budget a graph of the user's is reported against.

        Raises:
            RuntimeError: The run ended on something else.
        """
        final = self.messages[-1] if self.messages else None
        wanted = {self._reply_id} if named else self.written
        if isinstance(final, AIMessage) and final.tool_calls and final.id in self.written:
            wanted = self.written  # it ends asking for tools it does not run: the client's
        if not isinstance(final, AIMessage) or final.id not in wanted:
            msg = "the graph finished without a reply"
            raise RuntimeError(msg)
        reply = reply_of(final, model_name)
        if reply.context is None:  # a graph of the user's: what its model was shown
            reply = reply._replace(context=_report(self.messages, context_tokens))
        return reply


def _report(messages: list[AnyMessage], context_tokens: int) -> dict[str, Any]:
    """The context report of a graph that keeps its whole history in its state."""
    shown = len(visible(messages))
    report = ContextReport(
        tokens_used=estimate_tokens(messages),
        token_budget=context_tokens,
        messages_total=shown,
        messages_in_context=shown,
        summarized=False,
    )
    return msgspec.structs.asdict(report)
