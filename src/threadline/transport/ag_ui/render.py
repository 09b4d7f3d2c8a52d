"""A turn's events as AG-UI events: one `Translation` per run, kept in the order AG-UI checks.

`RUN_STARTED` comes once, first (when the message is stored, or at once for a run that
stores none); text and tool-call events open and close in pairs; the run ends with one
`RUN_ERROR`, or with `MESSAGES_SNAPSHOT` (the stored thread) and `RUN_FINISHED`, whose
outcome is the interrupts the thread waits for, if any. The end is told by a `History`
event (the stored thread, read once the turn is over). Nothing follows the end.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import msgspec
from ag_ui.core import (
    AssistantMessage,
    BaseEvent,
    FunctionCall,
    Interrupt,
    Message,
    MessagesSnapshotEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCall,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
    ToolMessage,
    UserMessage,
)
from ag_ui.core.version import PROTOCOL_VERSION
from litestar.response.sse import ServerSentEventMessage

from threadline.chat.events import (
    Accepted,
    ApprovalRequired,
    Context,
    Event,
    Failed,
    History,
    HistoryItem,
    InterruptEvent,
    Replied,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)
from threadline.transport.http_errors import retry_seconds

__all__ = ("APPROVAL_SCHEMA", "Translation", "agui_id", "agui_messages", "interrupts_of")

# What an approval's `resume` payload looks like (`args`: the call approved with them).
APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "args": {"type": "object"}},
    "required": ["approved"],
}


def sse(event: BaseEvent) -> ServerSentEventMessage:
    r"""One AG-UI event as a server-sent event, as `ag_ui.encoder.EventEncoder` writes it.

    Lines end with `\n` alone: AG-UI's client splits events on a blank line of `\n\n`.
    """
    return ServerSentEventMessage(data=event.model_dump_json(by_alias=True), sep="\n")


def agui_id(item: HistoryItem) -> str:
    """A stored message's AG-UI id: a user message's is the one its client gave it."""
    return item.client_message_id or item.message_id


def _message(item: HistoryItem) -> Message:
    if item.role == "user":
        return UserMessage(id=agui_id(item), content=item.content)
    if item.role == "tool":
        error = item.content if item.is_error else None
        return ToolMessage(
            id=item.message_id,
            content=item.content,
            tool_call_id=item.tool_call_id or "",
            error=error,
        )
    calls = [
        ToolCall(id=c.tool_call_id, function=FunctionCall(name=c.name, arguments=_json(c.args)))
        for c in item.tool_calls or []
    ]
    return AssistantMessage(
        id=item.message_id, content=item.content or None, tool_calls=calls or None
    )


def agui_messages(items: list[HistoryItem]) -> list[Message]:
    """The stored thread's messages as AG-UI messages, in order."""
    return [_message(item) for item in items]


def interrupts_of(waiting: list[InterruptEvent | ApprovalRequired]) -> list[Interrupt]:
    """What a paused run waits for as AG-UI interrupts: a tool call's by its call id."""
    interrupts = []
    for event in waiting:
        if isinstance(event, ApprovalRequired):
            described = event.description if isinstance(event.description, str) else None
            interrupts.append(
                Interrupt(
                    id=event.tool_call_id,
                    reason="tool_approval",
                    message=described or f"May the tool {event.name!r} run?",
                    tool_call_id=event.tool_call_id,
                    response_schema=APPROVAL_SCHEMA,
                    metadata={"name": event.name, "args": event.args},
                )
            )
        else:
            interrupts.append(
                Interrupt(
                    id=event.interrupt_id, reason="input_required", metadata={"value": event.value}
                )
            )
    return interrupts


_NOT_CONTEXT = frozenset({"kind", "conversation_id"})


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class Translation:
    """One run's events: each chat event as the AG-UI events it becomes, in a valid order."""

    def __init__(self, thread_id: str, run_id: str, client_tools: Set[str] = frozenset()) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self._client_tools = client_tools  # calls to these are left to the client
        self.started = False
        self.over = False  # RUN_FINISHED or RUN_ERROR sent: nothing more
        self._open: str | None = None  # the text message streaming now
        self._said: set[str] = set()  # text messages opened in this run
        self._context: Context | None = None
        self.pending_calls: list[str] = []  # front-end tool calls left for the client
        self._asking: set[str] = set()  # assistant messages that asked for tools
        self._told: set[str] = set()  # ids of the messages the client added from events
        self.known: set[str] = set()  # ids of the messages the client sent with the run

    def __call__(self, event: Event) -> list[ServerSentEventMessage]:
        """The AG-UI events `event` becomes (none once the run is over)."""
        if self.over:
            return []
        return [sse(e) for e in self._translate(event)]

    def start(self) -> list[ServerSentEventMessage]:
        """`RUN_STARTED`, the first time only."""
        return [sse(e) for e in self._start()]

    def _start(self) -> list[BaseEvent]:
        if self.started:
            return []
        self.started = True
        started = RunStartedEvent(
            thread_id=self.thread_id, run_id=self.run_id, protocol_version=PROTOCOL_VERSION
        )
        return [started]

    def _translate(self, event: Event) -> list[BaseEvent]:  # noqa: PLR0911 - one case each
        match event:
            case Accepted():
                return self._start()
            case Token():
                return self._start() + self._token(event)
            case ToolCallEvent():
                return self._start() + self._close() + self._tool_call(event)
            case ToolResultEvent():
                result_id = event.message_id if isinstance(event.message_id, str) else ""
                result_id = result_id or f"{event.tool_call_id}-result"
                self._told.add(result_id)
                if event.tool_call_id in self.pending_calls:  # answered by the server
                    self.pending_calls.remove(event.tool_call_id)
                result = ToolCallResultEvent(
                    message_id=result_id,
                    tool_call_id=event.tool_call_id,
                    content=event.content,
                    role="tool",
                )
                return [*self._start(), result]
            case Replied():
                return self._start() + self._replied(event)
            case Context():
                self._context = event
                return []
            case Failed():
                self.over = True
                # AG-UI lets a run that never started end with RUN_ERROR alone.
                # A limit's refusal says when to try again (`retryAfter`, in seconds).
                told: dict[str, Any] = {"message": event.detail, "code": event.code}
                if (seconds := retry_seconds(event.retry_after)) is not None:
                    told["retryAfter"] = seconds
                return [RunErrorEvent.model_validate(told)]
            case History():
                return self._start() + self._close() + self._finish(event)
            case _:  # queued, what a paused run waits for (told at the end), sidebars
                return []

    def _token(self, event: Token) -> list[BaseEvent]:
        if not event.delta:
            return []
        events = self._open_text(event.message_id)
        events.append(TextMessageContentEvent(message_id=event.message_id, delta=event.delta))
        return events

    def _open_text(self, message_id: str) -> list[BaseEvent]:
        if self._open == message_id:
            return []
        events = self._close()
        self._open = message_id
        self._said.add(message_id)
        self._told.add(message_id)
        events.append(TextMessageStartEvent(message_id=message_id, role="assistant"))
        return events

    def _close(self) -> list[BaseEvent]:
        if self._open is None:
            return []
        ended = TextMessageEndEvent(message_id=self._open)
        self._open = None
        return [ended]

    def _tool_call(self, event: ToolCallEvent) -> list[BaseEvent]:
        self._asking.add(event.message_id)
        self._told.add(event.message_id)
        if event.name in self._client_tools:
            self.pending_calls.append(event.tool_call_id)
        return [
            ToolCallStartEvent(
                tool_call_id=event.tool_call_id,
                tool_call_name=event.name,
                parent_message_id=event.message_id or None,
            ),
            ToolCallArgsEvent(tool_call_id=event.tool_call_id, delta=_json(event.args)),
            ToolCallEndEvent(tool_call_id=event.tool_call_id),
        ]

    def _replied(self, event: Replied) -> list[BaseEvent]:
        if event.message_id in self._said:  # streamed: only its end is left
            return self._close() if self._open == event.message_id else []
        if event.message_id in self._asking and not event.content:
            return []  # the calls it ended on, for the client's tools: told already
        # Read back whole (a resend), or never streamed: said in one piece.
        events = self._open_text(event.message_id)
        if event.content:
            events.append(TextMessageContentEvent(message_id=event.message_id, delta=event.content))
        return events + self._close()

    def _finish(self, history: History) -> list[BaseEvent]:
        self.over = True
        messages = agui_messages(history.messages)
        snapshots = [MessagesSnapshotEvent(messages=messages)]
        if self._out_of_order(messages):
            # The client keeps the order it has and appends what it lacks: without what
            # this run added, it takes the stored order.
            kept = [m for m in messages if m.id in self.known]
            snapshots.insert(0, MessagesSnapshotEvent(messages=kept))
        outcome: RunFinishedInterruptOutcome | RunFinishedSuccessOutcome
        if history.pending_interrupts:
            outcome = RunFinishedInterruptOutcome(
                interrupts=interrupts_of(history.pending_interrupts)
            )
        else:
            outcome = RunFinishedSuccessOutcome(pending_tool_call_ids=self.pending_calls or None)
        result = None
        if self._context is not None:
            told = msgspec.to_builtins(self._context)
            result = {"context": {k: v for k, v in told.items() if k not in _NOT_CONTEXT}}
        finished = RunFinishedEvent(
            thread_id=self.thread_id, run_id=self.run_id, outcome=outcome, result=result
        )
        return [*snapshots, finished]

    def _out_of_order(self, messages: list[Message]) -> bool:
        """Whether a stored message the client lacks comes before one it added this run.

        The client appends what a snapshot adds, after what it has: such a message would
        land after messages stored after it (a stopped reply after its tools' results).
        """
        lacking = False
        for message in messages:
            if message.id in self.known:
                continue
            if message.id in self._told and lacking:
                return True
            lacking = lacking or message.id not in self._told
        return False
