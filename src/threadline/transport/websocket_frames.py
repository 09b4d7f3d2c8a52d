"""The WebSocket edge: each event of the chat service (`chat.events`) as the frame it is sent as.

A frame is its event under the protocol's name and tag (`type`): each class below is its
event's Struct with that tag, so the two cannot drift, and the AsyncAPI document is made
from these classes. Another protocol is one more module like this one over the same events.
"""

from __future__ import annotations

from typing import get_args

import msgspec

from threadline.chat import events

__all__ = ("ServerFrame", "coalesced", "encode", "encode_bytes", "frame_of")


class Ack(events.Accepted, tag_field="type", tag="ack"):
    """The user message was accepted; for a new conversation this carries its id."""


class Queued(events.Queued, tag_field="type", tag="queued"):
    """The message waits behind `position` turns of the same conversation."""


class Token(events.Token, tag_field="type", tag="token"):
    """A streamed piece of the assistant reply `message_id`.

    Usually one token; several consecutive tokens' text when the socket fell behind
    (their `delta`s joined, `seq` the last one's), so `seq` may skip numbers.
    """


class ToolCallEvent(events.ToolCallEvent, tag_field="type", tag="tool_call"):
    """The assistant message `message_id` asks for a tool; its result follows."""


class ToolResultEvent(events.ToolResultEvent, tag_field="type", tag="tool_result"):
    """A tool's result, stored; `is_error` when the tool failed (the turn goes on)."""


class ApprovalRequired(events.ApprovalRequired, tag_field="type", tag="approval_required"):
    """The run waits for the user to approve or deny this tool call (`approve`/`deny`).

    `decisions` are those allowed (`edit`: `approve` with new `args`); `interrupt_id` is
    the LangGraph interrupt asking (several calls of one request share it).
    """


class InterruptEvent(events.InterruptEvent, tag_field="type", tag="interrupt"):
    """The run waits for the user's answer to the graph's `interrupt(value)` (`respond`)."""


class ReplyMessage(events.Replied, tag_field="type", tag="message"):
    """The assistant reply, sent once it is persisted; `stopped` if cut short by a stop."""


class Context(events.Context, tag_field="type", tag="context"):
    """After a turn: how much of the conversation the model saw."""


class History(events.History, tag_field="type", tag="history"):
    """A page of a conversation's messages, oldest first.

    `next_before` is set when older messages exist (pass it as `before_message_id`),
    `next_after` when a page asked with `after_message_id` stops short of the newest
    message (pass it as `after_message_id`). `pending_interrupts` is everything the
    conversation's run waits for, as the frames that asked for it.
    """

    pending_interrupts: list[InterruptEvent | ApprovalRequired] = msgspec.field(  # type: ignore[assignment]
        default_factory=list
    )


class ConversationEvent(events.ConversationChanged, tag_field="type", tag="conversation"):
    """One of the user's conversations changed, on any server: what a sidebar needs."""


class FeedbackFrame(events.FeedbackSaved, tag_field="type", tag="feedback"):
    """The user's feedback on an assistant message is stored (a null rating clears it)."""


class ErrorFrame(events.Failed, tag_field="type", tag="error"):
    """Something went wrong; `code` is stable, `detail` is for humans."""


ServerFrame = (
    Ack
    | Queued
    | Token
    | ToolCallEvent
    | ToolResultEvent
    | ApprovalRequired
    | InterruptEvent
    | ReplyMessage
    | Context
    | History
    | ConversationEvent
    | FeedbackFrame
    | ErrorFrame
)

# Each event's frame: the class whose base it is.
_FRAMES: dict[type[events.Event], type[ServerFrame]] = {
    frame.__bases__[0]: frame for frame in get_args(ServerFrame)
}
_encoder = msgspec.json.Encoder()


def frame_of(event: events.Event) -> ServerFrame:
    """The frame `event` is sent as (with the events it holds as their frames)."""
    if isinstance(event, events.History):
        held = [frame_of(asked) for asked in event.pending_interrupts]
        event = msgspec.structs.replace(event, pending_interrupts=held)
    return _FRAMES[type(event)](*msgspec.structs.astuple(event))


def encode(event: events.Event) -> str:
    """The JSON text of `event`'s frame."""
    return encode_bytes(event).decode()


def encode_bytes(event: events.Event) -> bytes:
    """The UTF-8 bytes of the JSON text of `event`'s frame, as sent on the socket."""
    return _encoder.encode(frame_of(event))


def coalesced(tokens: list[events.Token]) -> events.Token:
    """Consecutive tokens of one message as one: their deltas joined, the last one's `seq`."""
    return msgspec.structs.replace(tokens[-1], delta="".join(t.delta for t in tokens))
