"""What the chat service tells a socket: one ordered series of events per turn, and answers.

A turn emits its events in order (queued, accepted, tokens, tool calls and results, what
a paused run asks (approvals, interrupts), the reply or its failure, the context it used),
numbered by `seq` where they are part of the reply; the conversations' changes (the
sidebar) and the answers to requests (a history page, a failure) go to the same `Send`.
Each event is a tagged msgspec Struct: the same series crosses processes
(`bulletins.Relayed`), and each protocol is an edge that translates it (the WebSocket's
frames: `transport/websocket_frames.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec

__all__ = (
    "Accepted",
    "ApprovalRequired",
    "AttachmentItem",
    "Branch",
    "Citation",
    "Context",
    "ConversationChanged",
    "ErrorCode",
    "Event",
    "Failed",
    "FeedbackItem",
    "FeedbackSaved",
    "History",
    "HistoryItem",
    "InterruptEvent",
    "Queued",
    "Replied",
    "Send",
    "Token",
    "ToolCallEvent",
    "ToolCallItem",
    "ToolResultEvent",
)

ErrorCode = Literal[
    "invalid_json",
    "invalid_frame",
    "message_too_large",
    "conversation_not_found",
    "conversation_exists",
    "conversation_busy",
    "too_many_turns",
    "rate_limited",
    "quota_exceeded",
    "token_expired",
    "token_revoked",
    "nothing_to_stop",
    "nothing_to_resume",
    "nothing_to_regenerate",
    "message_not_found",
    "checkpoint_not_found",
    "approval_pending",
    "nothing_to_approve",
    "history_mismatch",
    "unknown_assistant",
    "invalid_context",
    "unknown_model",
    "unsupported_attachment",
    "llm_error",
    "llm_unavailable",
    "storage_unavailable",
    "shutting_down",
    "internal_error",
]

# An event's place in its reply (1, 2, …): tokens, tool calls and results, the reply.
# Unset on a reply read from storage rather than streamed (it is complete).
Seq = int | msgspec.UnsetType


class _Event(msgspec.Struct, tag_field="kind", tag=True, forbid_unknown_fields=True):
    """Base of all events: `kind` carries the class's name."""


class Accepted(_Event, omit_defaults=True):
    """The user message was accepted; for a new conversation this carries its id."""

    conversation_id: str
    message_id: str
    client_message_id: str | None = None


class Token(_Event):
    """A streamed piece of the assistant reply `message_id`."""

    conversation_id: str
    message_id: str
    delta: str
    seq: Seq = msgspec.UNSET
    # The agent saying it, when a graph's agents answer inside subgraphs (a supervisor's
    # team, a swarm): the subgraph's node name. Absent otherwise.
    agent: str | msgspec.UnsetType = msgspec.UNSET


class Citation(msgspec.Struct):
    """A passage of a document a reply drew on (`score`: 1.0 is the best possible match)."""

    document_id: str
    title: str
    text: str
    score: float


class Replied(_Event):
    """The assistant reply, once it is stored; `stopped` if cut short by a stop."""

    conversation_id: str
    message_id: str
    content: str
    model: str
    role: Literal["assistant"] = "assistant"
    stopped: bool = False
    # The specialist that answered, when several are declared (AGENTS); absent otherwise.
    agent: str | msgspec.UnsetType = msgspec.UNSET
    # The sources it drew on, when it searched the user's documents; absent otherwise.
    citations: list[Citation] | msgspec.UnsetType = msgspec.UNSET
    seq: Seq = msgspec.UNSET


class ToolCallEvent(_Event):
    """The assistant message `message_id` asks for a tool; its result follows."""

    conversation_id: str
    message_id: str
    tool_call_id: str
    name: str
    args: dict[str, Any]
    seq: Seq = msgspec.UNSET


class ToolResultEvent(_Event):
    """A tool's result, stored; `is_error` when the tool failed (the turn goes on)."""

    conversation_id: str
    tool_call_id: str
    name: str
    content: str
    is_error: bool
    seq: Seq = msgspec.UNSET
    # The stored tool message's id (absent on events from before it was carried).
    message_id: str | msgspec.UnsetType = msgspec.UNSET


class ApprovalRequired(_Event):
    """The run waits for the user to approve or deny this tool call (`approve`/`deny`).

    `decisions` are those allowed (`edit`: `approve` with new `args`); `interrupt_id` is
    the LangGraph interrupt asking (several calls of one request share it).
    """

    conversation_id: str
    tool_call_id: str
    name: str
    args: dict[str, Any]
    interrupt_id: str | msgspec.UnsetType = msgspec.UNSET
    # What the asker says of the call (LangChain's HumanInTheLoopMiddleware), if anything.
    description: str | msgspec.UnsetType = msgspec.UNSET
    decisions: list[Literal["approve", "edit", "deny"]] | msgspec.UnsetType = msgspec.UNSET
    seq: Seq = msgspec.UNSET


class InterruptEvent(_Event):
    """The run waits for the user's answer to the graph's `interrupt(value)` (`respond`)."""

    conversation_id: str
    interrupt_id: str
    # What the graph asked with, as JSON: a question, a form, anything.
    value: Any
    seq: Seq = msgspec.UNSET


class Context(_Event):
    """After a turn: how much of the conversation the model saw."""

    conversation_id: str
    tokens_used: int
    token_budget: int
    messages_total: int
    messages_in_context: int
    summarized: bool


class Queued(_Event):
    """The message waits behind `position` turns of the same conversation."""

    conversation_id: str
    message_id: str
    position: int
    client_message_id: str | None = None


class ToolCallItem(msgspec.Struct):
    """A tool call an assistant message made."""

    tool_call_id: str
    name: str
    args: dict[str, Any]


class FeedbackItem(msgspec.Struct):
    """What the user said of an assistant message: a rating (or none) and a comment."""

    rating: Literal["up", "down"] | None
    comment: str | None = None


class AttachmentItem(msgspec.Struct, omit_defaults=True):
    """What a user message carried besides its text, as history shows it (never the image)."""

    type: Literal["image", "document"]
    media_type: str | None = None  # an image's
    size_bytes: int | None = None  # an image's, decoded
    document_id: str | None = None  # a document's
    title: str | None = None  # a document's, when it was attached


class Branch(msgspec.Struct):
    """A message's place among its siblings: the messages that follow the same earlier ones.

    An edit, or a regenerate, starts a sibling; `sibling_ids` are all of them, oldest first
    (this message among them, at `index`); `switch_branch` to one makes its branch current.
    """

    index: int
    count: int
    sibling_ids: list[str]


class HistoryItem(msgspec.Struct, omit_defaults=True):
    """One stored message, as history returns it.

    An assistant message that asked for tools carries `tool_calls`; each result is an item
    of role `tool` naming the call (`tool_call_id`, `name`, `is_error`).
    """

    message_id: str
    role: Literal["user", "assistant", "tool"]
    content: str
    created_at: str | None = None
    stopped: bool = False
    model: str | None = None
    client_message_id: str | None = None
    tool_calls: list[ToolCallItem] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    citations: list[Citation] | None = None
    # The user's feedback on an assistant message, if they gave any.
    feedback: FeedbackItem | None = None
    attachments: list[AttachmentItem] | None = None
    branch: Branch | None = None  # only on a message with siblings


class History(_Event):
    """A page of a conversation's messages, oldest first, and the pages either side."""

    conversation_id: str
    messages: list[HistoryItem]
    next_before: str | None = None
    next_after: str | None = None
    # The tool call the conversation waits on the user's approval for, if any.
    pending_approval: ToolCallItem | None = None
    # Everything the conversation's run waits for, as the frames that asked for it.
    pending_interrupts: list[InterruptEvent | ApprovalRequired] = msgspec.field(
        default_factory=list
    )


class Failed(_Event, omit_defaults=True):
    """A turn or a request failed; `code` is stable, `detail` is for humans."""

    code: ErrorCode
    detail: str
    retryable: bool
    conversation_id: str | None = None
    # Seconds to wait before trying again (rate limits and quotas).
    retry_after: float | None = None
    # What the conversation waits for (`approval_pending`): answer it or cancel it.
    interrupt_id: str | None = None


class ConversationChanged(_Event, omit_defaults=True):
    """One of the user's conversations changed, on any server: what a sidebar needs."""

    conversation_id: str
    event: Literal["created", "updated", "renamed", "model_changed", "deleted"]
    updated_at: str
    # The conversation's title, where the event knows it (null: none yet).
    title: str | msgspec.UnsetType | None = msgspec.UNSET
    # The model its next turns answer with (on `model_changed`).
    model: str | msgspec.UnsetType = msgspec.UNSET


class FeedbackSaved(_Event):
    """The user's feedback on an assistant message is stored (a null rating clears it)."""

    conversation_id: str
    message_id: str
    rating: Literal["up", "down"] | None
    comment: str | None = None


Event = (
    Accepted
    | Queued
    | Token
    | ToolCallEvent
    | ToolResultEvent
    | ApprovalRequired
    | InterruptEvent
    | Replied
    | Context
    | History
    | ConversationChanged
    | FeedbackSaved
    | Failed
)

Send = Callable[[Event], Awaitable[None]]
"""Where a listener's events go (a socket's outbox; another process's relay)."""
