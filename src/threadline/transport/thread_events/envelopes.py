"""A turn's events as the thread event stream's events, on their channels.

One `Envelopes` per stream: it keeps what the stream has said of each message (started,
its text so far) so that each Threadline event becomes the protocol events that continue
it. An event is `{type: "event", event_id, seq, method, params: {namespace, timestamp,
data}}`; all of Threadline's are the root graph's (`namespace: []`).

`seq` is Threadline's: the event's place in its reply (1, 2, ...), 0 before the first
token, so `since` replays through `ChatService.resume`. An `event_id` names what the
event says (a message's start, a token by its seq, a run's end), so the same event told
again (a replay, a stream reopened, the subscription and the resume both bringing it)
has the same id: the stream drops it, and a client deduplicates by it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

import msgspec

from threadline.chat.events import (
    Accepted,
    ApprovalRequired,
    Context,
    Event,
    Failed,
    InterruptEvent,
    Replied,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)

__all__ = ("CHANNELS", "Envelope", "Envelopes", "approval_payload", "channel_of")

Envelope = dict[str, Any]

CHANNELS = frozenset(
    {"values", "updates", "messages", "tools", "lifecycle", "input", "checkpoints", "tasks"}
)
# Event ids a stream remembers to drop repeats; far above one reply's events.
REMEMBERED_IDS = 8192


def channel_of(method: str) -> str:
    """The channel a client subscribes to for events of `method`."""
    if method.startswith("input."):
        return "input"
    return method


def approval_payload(event: ApprovalRequired) -> dict[str, Any]:
    """What an `input.requested` for a tool approval carries (its id: the tool call's)."""
    payload: dict[str, Any] = msgspec.to_builtins(event)
    payload.pop("conversation_id", None)
    payload.pop("seq", None)
    payload["kind"] = "approval"
    return payload


class Envelopes:
    """Threadline's events as one stream's protocol events (`render`), repeats dropped."""

    def __init__(self, channels: Collection[str], *, root: bool = True) -> None:
        """`channels`: the ones the stream asked for; `root`: its namespaces include `[]`."""
        self._channels = set(channels)
        self._root = root
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._open: str | None = None  # the message whose text block is open
        self._texts: dict[str, str] = {}  # text so far, by message
        self._seq = 0  # the latest seq seen
        self._run = ""  # the latest turn's accepted message

    def filter_to(self, channels: Collection[str], *, root: bool) -> None:
        """Send the events of `channels` from now on (a socket's subscriptions changed)."""
        self._channels = set(channels)
        self._root = root

    def render(self, event: Event) -> list[Envelope]:
        """The protocol events `event` becomes that this stream has not sent yet."""
        if isinstance(event, Accepted) and event.message_id != self._run:  # a new turn
            self._seq, self._run = 0, event.message_id
        seq = getattr(event, "seq", msgspec.UNSET)
        if isinstance(seq, int):
            if seq <= self._seq:
                return []  # told already (a replay overlapping what came live)
            self._seq = seq
        elif not isinstance(event, Replied):  # a stored reply's is unknown
            seq = self._seq
        fresh = []
        for method, event_id, data in self._said(event):
            if event_id in self._seen or not self._root:
                continue
            if channel_of(method) not in self._wanted(data):
                continue
            self._remember(event_id)
            fresh.append(_envelope(method, event_id, seq if isinstance(seq, int) else None, data))
        return fresh

    def _wanted(self, data: dict[str, Any]) -> set[str]:
        if "custom" in self._channels or f"custom:{data.get('name')}" in self._channels:
            return {*self._channels, "custom"}
        return self._channels

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > REMEMBERED_IDS:
            self._seen.popitem(last=False)

    def _said(self, event: Event) -> list[tuple[str, str, dict[str, Any]]]:  # noqa: PLR0911
        if isinstance(event, Accepted):
            return [_lifecycle(f"{event.message_id}:running", "running")]
        if isinstance(event, Token):
            return self._token(event)
        if isinstance(event, ToolCallEvent):
            data: dict[str, Any] = {"event": "tool-started", "tool_call_id": event.tool_call_id}
            data |= {"tool_name": event.name, "input": event.args}
            return [*self._close_text(), ("tools", f"{event.tool_call_id}:started", data)]
        if isinstance(event, ToolResultEvent):
            return [*self._close_text(), _tool_result(event)]
        if isinstance(event, ApprovalRequired):
            return self._asks(event.tool_call_id, approval_payload(event), event.seq)
        if isinstance(event, InterruptEvent):
            return self._asks(event.interrupt_id, event.value, event.seq)
        if isinstance(event, Replied):
            return self._replied(event)
        if isinstance(event, Context):
            payload: dict[str, Any] = msgspec.to_builtins(event)
            payload.pop("kind", None)
            data = {"name": "context", "payload": payload}
            return [("custom", f"context:{self._seq}:{event.messages_total}", data)]
        if isinstance(event, Failed):
            data = {"event": "failed", "error": event.detail, "code": event.code}
            key = f"{self._run}:failed:{event.code}:{self._seq}"
            return [*self._close_text(), ("lifecycle", key, data)]
        return []  # queued, sidebar changes, pages of history: nothing the protocol says

    def _token(self, event: Token) -> list[tuple[str, str, dict[str, Any]]]:
        said = [] if self._open == event.message_id else self._open_text(event.message_id, "")
        self._texts[event.message_id] += event.delta
        delta = {"type": "text-delta", "text": event.delta}
        data = {"event": "content-block-delta", "index": 0, "delta": delta}
        return [*said, ("messages", f"{event.message_id}:{event.seq}", data)]

    def _open_text(self, message_id: str, text: str) -> list[tuple[str, str, dict[str, Any]]]:
        said = self._close_text()
        self._open = message_id
        self._texts[message_id] = text
        start = {"event": "message-start", "role": "ai", "id": message_id}
        block = {"event": "content-block-start", "index": 0, "content": _text(text)}
        return [
            *said,
            ("messages", f"{message_id}:message-start", start),
            ("messages", f"{message_id}:block-start", block),
        ]

    def _close_text(self, content: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        if self._open is None:
            return []
        message_id, self._open = self._open, None
        text = self._texts.pop(message_id) if content is None else content
        finish = {"event": "content-block-finish", "index": 0, "content": _text(text)}
        return [
            ("messages", f"{message_id}:block-finish", finish),
            ("messages", f"{message_id}:message-finish", {"event": "message-finish"}),
        ]

    def _asks(
        self, interrupt_id: str, payload: Any, seq: int | msgspec.UnsetType
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """A question; a run that pauses on it (`seq`: not one told at rest) has ended."""
        asked = ("input.requested", f"input:{interrupt_id}", {"interrupt_id": interrupt_id})
        asked[2]["payload"] = payload
        if seq is msgspec.UNSET:  # what a thread at rest waits for: no run ends now
            return [asked]
        ended = _lifecycle(f"interrupted:{interrupt_id}", "interrupted")
        return [*self._close_text(), asked, ended]

    def _replied(self, event: Replied) -> list[tuple[str, str, dict[str, Any]]]:
        said = []
        if self._open != event.message_id:  # a stored reply, or one not streamed here
            said = self._open_text(event.message_id, event.content)
        said += self._close_text(event.content)
        data: dict[str, Any] = {"event": "completed"}
        if event.stopped:
            data["stopped"] = True
        return [*said, _lifecycle(f"{event.message_id}:completed", "completed", data)]


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _lifecycle(
    event_id: str, status: str, data: dict[str, Any] | None = None
) -> tuple[str, str, dict[str, Any]]:
    return ("lifecycle", event_id, data or {"event": status})


def _tool_result(event: ToolResultEvent) -> tuple[str, str, dict[str, Any]]:
    call = {"tool_call_id": event.tool_call_id}
    if event.is_error:
        return (
            "tools",
            f"{event.tool_call_id}:error",
            {"event": "tool-error", **call, "message": event.content},
        )
    data = {"event": "tool-finished", **call, "output": event.content}
    return ("tools", f"{event.tool_call_id}:finished", data)


def _envelope(method: str, event_id: str, seq: int | None, data: dict[str, Any]) -> Envelope:
    envelope: Envelope = {"type": "event", "event_id": event_id}
    if seq is not None:
        envelope["seq"] = seq
    params = {"namespace": [], "timestamp": int(time.time() * 1000), "data": data}
    return envelope | {"method": method, "params": params}
