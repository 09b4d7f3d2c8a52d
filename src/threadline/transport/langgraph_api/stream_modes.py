"""A turn's series of events as the LangGraph server's stream modes: the SSE events of a run.

Pure: each event of `chat.events` becomes the SSE events (name, data, id) the requested
modes ask for, as the LangGraph server names and shapes them:

- `metadata` first (`run_id`, `thread_id`, `attempt`), once the run's input is stored;
- `values`: the state at the start and at the end (read from the checkpoint by the route:
  `start`, `end`), and after each step of tool calls and of their results in between;
  a paused run's interrupts as `{"__interrupt__": [{value, id}]}`;
- `messages-tuple` (event `messages`): `[message chunk, metadata]` for each token, tool
  call and tool result;
- `messages`: `messages/metadata` once per message, then `messages/partial` (the message
  so far) and `messages/complete`;
- `updates`: `{node: {messages: [...]}}` per step, and `{"__interrupt__": [...]}`;
- `error`: `{error, message}` with Threadline's `code` alongside.

Event ids are Threadline's `seq`: a client that drops the stream rejoins after the last id it
saw (`Last-Event-ID`), on any process. With `stream_subgraphs`, an event of a subgraph's
agent is named `mode|agent`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

import msgspec

from threadline.chat.events import (
    ApprovalRequired,
    Event,
    Failed,
    InterruptEvent,
    Replied,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)

__all__ = ("STREAM_MODES", "RunStream", "SseEvent", "StreamMode", "ends_run")

StreamMode = Literal["values", "messages", "messages-tuple", "updates", "custom", "events"]
STREAM_MODES: tuple[StreamMode, ...] = (
    "values",
    "messages",
    "messages-tuple",
    "updates",
    "custom",
    "events",
)
# The node names steps are told under (Threadline's own graph's; a subgraph's agent wins).
_MODEL_NODE = "respond"
_TOOLS_NODE = "tools"


class SseEvent(NamedTuple):
    """One server-sent event: its name, its data (JSON), and its id (a `seq`), if any."""

    event: str
    data: Any
    id: str | None = None


def ends_run(event: Event) -> bool:
    """Whether `event` is a run's outcome: its reply, its failure, or what it waits for."""
    return isinstance(event, Replied | Failed | ApprovalRequired | InterruptEvent)


def _ai(message_id: str, content: str, calls: Sequence[ToolCallEvent] = ()) -> dict[str, Any]:
    return {
        "content": content,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "ai",
        "name": None,
        "id": message_id,
        "tool_calls": [
            {"name": c.name, "args": c.args, "id": c.tool_call_id, "type": "tool_call"}
            for c in calls
        ],
        "invalid_tool_calls": [],
        "usage_metadata": None,
    }


def _chunk(message_id: str, content: str, calls: Sequence[ToolCallEvent] = ()) -> dict[str, Any]:
    chunk = _ai(message_id, content, calls)
    chunk["type"] = "AIMessageChunk"
    chunk["tool_call_chunks"] = [
        {
            "name": c.name,
            "args": json.dumps(c.args),
            "id": c.tool_call_id,
            "index": index,
            "type": "tool_call_chunk",
        }
        for index, c in enumerate(calls)
    ]
    return chunk


def _tool(result: ToolResultEvent) -> dict[str, Any]:
    return {
        "content": result.content,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "tool",
        "name": result.name,
        "id": result.message_id if isinstance(result.message_id, str) else None,
        "tool_call_id": result.tool_call_id,
        "artifact": None,
        "status": "error" if result.is_error else "success",
    }


def _id(event: Event) -> str | None:
    seq = getattr(event, "seq", msgspec.UNSET)
    return str(seq) if isinstance(seq, int) else None


class RunStream:
    """One run's stream: what its modes send for each event, and what was streamed so far."""

    def __init__(
        self,
        run_id: str,
        thread_id: str,
        modes: Iterable[str],
        *,
        messages_key: str = "messages",
        subgraphs: bool = False,
    ) -> None:
        """A run's stream in `modes` (`values`, `messages-tuple`, ...)."""
        self.run_id = run_id
        self.thread_id = thread_id
        self.modes = frozenset(modes)
        self._key = messages_key
        self._subgraphs = subgraphs
        self._values: dict[str, Any] = {}
        self._texts: dict[str, str] = {}  # each streamed message's text so far
        self._told: set[str] = set()  # messages whose `messages/metadata` went out
        self._calls: list[ToolCallEvent] = []  # the step of tool calls not yet told whole
        self._results: list[ToolResultEvent] = []  # likewise, of their results
        self._last_id: str | None = None
        self._agent: str | None = None

    def metadata(self) -> SseEvent:
        """The first event: the run's and its thread's ids."""
        ids = {"run_id": self.run_id, "thread_id": self.thread_id, "attempt": 1}
        return SseEvent("metadata", ids)

    @property
    def tells_values(self) -> bool:
        """Whether the state at the run's start is told (`start` needs it read)."""
        return "values" in self.modes

    @property
    def tells_end_state(self) -> bool:
        """Whether the state at the run's end, or what it waits for, is told (`end`)."""
        return bool(self.modes & {"values", "updates"})

    def start(self, values: Any) -> list[SseEvent]:
        """The state at the run's start (its input stored): a `values` event."""
        self._values = dict(values) if isinstance(values, dict) else {}
        return [SseEvent("values", values)] if "values" in self.modes else []

    def end(self, values: Any, interrupts: Sequence[Any] = ()) -> list[SseEvent]:
        """The state at the run's end, and what it waits for (`__interrupt__`), if anything."""
        events = self._flush()
        if "values" in self.modes:
            events.append(SseEvent("values", values, self._last_id))
        paused = {"__interrupt__": list(interrupts)}
        if interrupts:  # as the LangGraph server tells it: in `values` (and `updates`)
            modes = [m for m in ("values", "updates") if m in self.modes]
            events += [SseEvent(m, paused, self._last_id) for m in modes]
        return events

    def translate(self, event: Event) -> list[SseEvent]:
        """The SSE events `event` becomes (the run's start and end aside: `start`, `end`)."""
        if isinstance(event, Token):
            return [*self._flush_unless(event), *self._token(event)]
        if isinstance(event, ToolCallEvent):
            events = self._flush_unless(event)
            self._calls.append(event)
            self._last_id = _id(event) or self._last_id
            return events
        if isinstance(event, ToolResultEvent):
            events = self._flush_unless(event)
            self._results.append(event)
            self._last_id = _id(event) or self._last_id
            return [*events, *self._tuple(_tool(event), event)]
        if isinstance(event, Failed):
            error = {"error": event.code, "message": event.detail, "code": event.code}
            return [*self._flush(), SseEvent("error", error)]
        if isinstance(event, Replied):
            self._last_id = _id(event) or self._last_id
            return [*self._flush(), *self._reply(event)]
        return []  # queued, accepted, context, the pause (told by `end`): nothing here

    # Messages --------------------------------------------------------------------------

    def _token(self, token: Token) -> list[SseEvent]:
        self._last_id = _id(token) or self._last_id
        self._agent = token.agent if isinstance(token.agent, str) else None
        so_far = self._texts.get(token.message_id, "") + token.delta
        self._texts[token.message_id] = so_far
        events = self._tuple(_chunk(token.message_id, token.delta), token)
        if "messages" in self.modes:
            events += self._partial(_ai(token.message_id, so_far), token)
        return events

    def _reply(self, reply: Replied) -> list[SseEvent]:
        """A reply read from storage (a resend's) was never streamed: its message, whole."""
        message = _ai(reply.message_id, reply.content)
        events: list[SseEvent] = []
        if reply.message_id not in self._texts:
            events += self._tuple(_chunk(reply.message_id, reply.content), reply)
        if "messages" in self.modes:
            events += self._partial(message, reply, name="messages/complete")
        if "updates" in self.modes:
            update = {self._node(): {self._key: [message]}}
            events.append(self._named("updates", update, _id(reply)))
        return events

    def _tuple(self, message: dict[str, Any], event: Event) -> list[SseEvent]:
        if "messages-tuple" not in self.modes:
            return []
        metadata = {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "langgraph_node": _TOOLS_NODE if message["type"] == "tool" else self._node(),
            "langgraph_checkpoint_ns": "",
        }
        return [self._named("messages", [message, metadata], _id(event))]

    def _partial(
        self, message: dict[str, Any], event: Event, name: str = "messages/partial"
    ) -> list[SseEvent]:
        events = []
        if message["id"] not in self._told:
            self._told.add(message["id"])
            metadata = {"run_id": self.run_id, "langgraph_node": self._node()}
            told = {message["id"]: {"metadata": metadata}}
            events.append(SseEvent("messages/metadata", told, _id(event)))
        events.append(SseEvent(name, [message], _id(event)))
        return events

    # Steps -----------------------------------------------------------------------------

    def _flush_unless(self, event: Event) -> list[SseEvent]:
        """Tell a step whole once an event of another kind follows it."""
        if isinstance(event, ToolCallEvent) and not self._results:
            return []
        if isinstance(event, ToolResultEvent) and not self._calls:
            return []
        return self._flush()

    def _flush(self) -> list[SseEvent]:
        events: list[SseEvent] = []
        if self._calls:
            calls, self._calls = self._calls, []
            message_id = calls[0].message_id
            message = _ai(message_id, self._texts.get(message_id, ""), calls)
            # The calls as a chunk of their message (its words streamed already).
            events += self._tuple(_chunk(message_id, "", calls), calls[-1])
            events += self._step(self._node(), [message], _id(calls[-1]))
        if self._results:
            results, self._results = self._results, []
            events += self._step(_TOOLS_NODE, [_tool(r) for r in results], _id(results[-1]))
        return events

    def _step(self, node: str, messages: list[dict[str, Any]], last: str | None) -> list[SseEvent]:
        events = []
        if "updates" in self.modes:
            events.append(self._named("updates", {node: {self._key: messages}}, last))
        so_far = [*self._values.get(self._key, []), *messages]
        self._values = {**self._values, self._key: so_far}
        if "values" in self.modes:
            events.append(SseEvent("values", self._values, last))
        return events

    def _node(self) -> str:
        return self._agent or _MODEL_NODE

    def _named(self, mode: str, data: Any, event_id: str | None = None) -> SseEvent:
        name = f"{mode}|{self._agent}" if self._subgraphs and self._agent else mode
        return SseEvent(name, data, event_id)
