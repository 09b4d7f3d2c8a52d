"""What the AI SDK's `DefaultChatTransport` posts, and what Threadline takes from it.

The SDK sends the whole message list (`UIMessage`s with their `parts`) on every request.
Threadline keeps the conversation itself, so it reads only what is new: the last user
message's text (its `id` is Threadline's `client_message_id`), or the approvals the user
answered on the last assistant message (`addToolApprovalResponse`). The earlier user
messages are checked against the stored thread: a list naming one it does not hold
contradicts it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from threadline.chat.errors import NothingToApprove
from threadline.chat.turns.turn_parts import Decision
from threadline.transport.params import CONVERSATION_ID_PATTERN

__all__ = (
    "ChatRequest",
    "Contradicts",
    "Refused",
    "UIMessage",
    "decisions_of",
    "earlier_user_ids",
    "text_of",
)

# Ids the client makes (messages, tool calls): printable, bounded.
ClientId = Annotated[str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]{1,128}$(?!\n)")]
ChatId = Annotated[str, msgspec.Meta(pattern=CONVERSATION_ID_PATTERN)]
# A conversation's whole list; far beyond it, send only the last message
# (`prepareSendMessagesRequest`, docs/ai-sdk.md).
MAX_MESSAGES = 2000
MAX_PARTS = 200


class Refused(Exception):
    """A request Threadline will not run: `code` is stable, `detail` is for humans."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


class Contradicts(Exception):
    """The list contradicts the stored thread: told in the stream, as an `error` chunk."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Approval(msgspec.Struct):
    """A tool part's approval: asked (`id`), then answered (`approved`, `reason`)."""

    id: str
    approved: bool | None = None
    reason: str | None = None


class Part(msgspec.Struct, rename="camel"):
    """One part of a UI message; only what Threadline reads (the SDK adds more)."""

    type: str
    text: str | None = None
    tool_call_id: str | None = None
    state: str | None = None
    approval: Approval | None = None


class UIMessage(msgspec.Struct):
    """A message of the SDK's list."""

    id: ClientId
    role: Literal["system", "user", "assistant"]
    parts: Annotated[list[Part], msgspec.Meta(max_length=MAX_PARTS)]
    metadata: Any = None


class ChatRequest(msgspec.Struct, rename="camel"):
    """`POST /ai-sdk/chat`: the chat (`id`: the conversation) and its messages."""

    id: ChatId
    messages: Annotated[list[UIMessage], msgspec.Meta(min_length=1, max_length=MAX_MESSAGES)]
    trigger: Literal["submit-message", "regenerate-message"] = "submit-message"
    message_id: str | None = None


def text_of(message: UIMessage) -> str:
    """The user message's text: its text parts, joined.

    Raises:
        Refused: It has parts Threadline does not take (files), or no text.
    """
    kinds = {part.type for part in message.parts} - {"text", "step-start"}
    if kinds:
        detail = f"message parts of type {sorted(kinds)} are not supported; send text parts"
        raise Refused(422, "unsupported_part", detail)
    text = "".join(part.text or "" for part in message.parts if part.type == "text")
    if not text.strip():
        raise Refused(422, "invalid_request", "the last user message has no text")
    return text


def decisions_of(message: UIMessage) -> list[Decision]:
    """The approvals the user answered on an assistant message (`approval-responded`).

    Raises:
        NothingToApprove: An answer under another `approval.id` than the one asked
            (Threadline asks each call's approval under the call's id).
    """
    answered = [
        (part.tool_call_id, part.approval)
        for part in message.parts
        if part.state == "approval-responded"
        and part.tool_call_id is not None
        and part.approval is not None
    ]
    for tool_call_id, approval in answered:
        if approval.id != tool_call_id:
            detail = "approval.id: no approval of this tool call was asked under this id"
            raise NothingToApprove(detail)
    return [Decision(call, bool(approval.approved)) for call, approval in answered]


def earlier_user_ids(messages: list[UIMessage], last: UIMessage) -> list[str]:
    """The ids of the user messages before `last`, in order."""
    index = messages.index(last)
    return [m.id for m in messages[:index] if m.role == "user"]
