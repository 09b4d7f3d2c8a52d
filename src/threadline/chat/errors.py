"""What the chat service refuses, as exceptions of its own.

The edges translate them: into `error` frames (`failures.failed`) and into HTTP
statuses (`transport.http_errors`).
"""

from __future__ import annotations

from typing import ClassVar

from threadline.chat.events import ErrorCode
from threadline.errors import DomainError

__all__ = (
    "ApprovalPendingError",
    "ChatError",
    "ConversationBusy",
    "ConversationNotFound",
    "InvalidContext",
    "InvalidRequest",
    "MessageNotFound",
    "NothingToApprove",
    "NothingToRegenerate",
    "NothingToResume",
    "NothingToStop",
    "QuotaExceeded",
    "RateLimited",
    "ShuttingDown",
    "TooManyTurns",
    "UnknownAssistant",
    "UnknownModel",
    "UnsupportedAttachment",
)


class ChatError(DomainError):
    """A request the chat service will not carry out as asked; `detail` is for humans."""

    code: ClassVar[ErrorCode]
    retryable: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ConversationNotFound(ChatError):
    """No such conversation for this user: another user's looks exactly the same."""

    code = "conversation_not_found"
    default_detail = "no conversation with this id exists for this user"


class ConversationExists(ChatError):
    """A client-chosen id (a thread id, global) is taken: by another user, or made meanwhile.

    LangGraph's server answers a taken id on `POST /threads` with 409; the edges where a
    client names a new conversation's id answer so too.
    """

    code = "conversation_exists"
    default_detail = "this conversation id is taken: choose another, unguessable id (a new UUID)"


class ConversationBusy(ChatError):
    """The conversation is answering, and takes no more waiting messages now."""

    code = "conversation_busy"
    retryable = True
    default_detail = "this conversation is still answering an earlier message"


class TooManyTurns(ChatError):
    """The user has as many turns running or waiting as they may have at once."""

    code = "too_many_turns"
    retryable = True


class NothingToStop(ChatError):
    """No reply is being generated in the conversation."""

    code = "nothing_to_stop"
    default_detail = "no reply is being generated in this conversation"


class NothingToResume(ChatError):
    """No reply is running and none is stored: the conversation has nothing to resume."""

    code = "nothing_to_resume"
    default_detail = "this conversation has no reply to resume"


class ShuttingDown(ChatError):
    """The server is draining before a restart; another server will take the message."""

    code = "shutting_down"
    retryable = True
    default_detail = "this server is restarting; reconnect (to another server) and send again"


class NothingToRegenerate(ChatError):
    """The conversation has no user message a new reply could answer."""

    code = "nothing_to_regenerate"
    default_detail = "this conversation has no message to answer"


class CheckpointNotFound(ChatError):
    """The thread has no checkpoint under the id a client named."""

    code = "checkpoint_not_found"
    default_detail = "Checkpoint not found"


class MessageNotFound(ChatError):
    """No such message in the conversation, or not one of the kind asked for.

    Not on its current path (or not a user message, for an edit), or not an assistant
    message of it (for feedback).
    """

    code = "message_not_found"
    default_detail = "no message with this id is on this conversation's current path"


class InvalidRequest(ChatError):
    """Well-formed, but contradicting what is stored (a reused id, an unknown message)."""

    code = "invalid_frame"


class RateLimited(ChatError):
    """The user sent more messages this minute than RATE_LIMIT_MESSAGES allows."""

    code = "rate_limited"
    retryable = True
    default_detail = "too many messages; send this one again after retry_after seconds"


class QuotaExceeded(ChatError):
    """What is left of today's DAILY_TOKEN_QUOTA does not cover this turn's model call."""

    code = "quota_exceeded"
    default_detail = (
        "too little is left of today's token quota for this message; "
        "it renews at midnight UTC (retry_after)"
    )


class ApprovalPendingError(ChatError):
    """The run waits for the user's answer; the conversation takes nothing else first."""

    code = "approval_pending"
    default_detail = (
        "this conversation waits for your answer (interrupt_id): send approve or deny for a "
        "tool call, respond to a question, or cancel_interrupt to drop it"
    )

    def __init__(self, interrupt_id: str | None = None) -> None:
        super().__init__()
        self.interrupt_id = interrupt_id


class NothingToApprove(ChatError):
    """No tool call (or interrupt) of the conversation waits for an answer under this id."""

    code = "nothing_to_approve"
    default_detail = "no tool call of this conversation waits for approval under this id"


class UnknownAssistant(ChatError):
    """The message names an assistant that is not served (nothing was stored)."""

    code = "unknown_assistant"


class InvalidContext(ChatError):
    """A `context` or `configurable` that does not fit the assistant's graph."""

    code = "invalid_context"


class UnknownModel(ChatError):
    """A model that is not among those a user may pick (MODELS); nothing was stored."""

    code = "unknown_model"


class UnsupportedAttachment(ChatError):
    """An attachment the conversation cannot take; nothing was stored.

    An image for a model without vision, or one that is not a PNG, JPEG, WebP or GIF
    data URL within the bounds.
    """

    code = "unsupported_attachment"
