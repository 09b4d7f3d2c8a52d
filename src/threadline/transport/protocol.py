"""The WebSocket protocol's client frames (tagged msgspec Structs) and their one decoder.

The server's frames are its events' (`websocket_frames`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from threadline.chat.events import ErrorCode
from threadline.chat.turns.attachments import AttachmentRequest
from threadline.conversations.index import Choice

__all__ = (
    "MAX_ATTACHMENTS",
    "Approve",
    "Attachment",
    "CancelInterrupt",
    "ClientFrame",
    "Deny",
    "Edit",
    "Feedback",
    "FrameDecoder",
    "FrameError",
    "ModelId",
    "Regenerate",
    "RequestHistory",
    "Respond",
    "Resume",
    "SendMessage",
    "SetModel",
    "Stop",
    "Subscribe",
    "SwitchBranch",
    "Unsubscribe",
)

# Ids are what the server issues (URL-safe base64) or an integer's digits; client ids are
# free-form but printable. PostgreSQL cannot store NUL in text, so no id may carry one.
# An integer id is bounded like any id: Python would otherwise take thousands of digits.
# `$(?!\n)`: the whole string, not before a final newline (see USER_ID_PATTERN).
ConversationRef = (
    Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,128}$(?!\n)")]
    | Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
)
ClientMessageId = Annotated[str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]{1,128}$(?!\n)")]
HistoryLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]
# A model id as Groq names them ("openai/gpt-oss-20b"); which ones may be picked is the
# service's to say (`unknown_model`).
ModelId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:/-]{1,128}$(?!\n)")]


class Attachment(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One attachment of a message: `{"document_id": …}` or `{"image": "data:image/…"}`."""

    document_id: ClientMessageId | None = None
    image: str | None = None


# The most attachments one message may carry.
MAX_ATTACHMENTS = 8


class _Frame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    """Base of all frames: the `type` field carries the tag."""


# Client -> server ---------------------------------------------------------------------------


def _as_ref(ref: str | int | None) -> str | None:
    return str(ref) if isinstance(ref, int) else ref


class SendMessage(_Frame, tag="message"):
    """A user message; without `conversation_id` it starts a new conversation.

    A conversation's first message may choose its assistant (`assistant_id`: a graph of
    the served `langgraph.json`; unset, the first), the graph's `runtime.context` values
    (`context`, checked against its context schema) and `configurable` values. The
    conversation keeps them; a later message may only name the same assistant again.
    Any message may name a `model` (one of `GET /models`): the conversation answers with
    it from then on. `attachments`: documents the user uploaded (the conversation's
    knowledge from then on) and images (data URLs, for a model that takes images); the
    images' data URLs count towards the message's size limit.
    """

    message: str
    conversation_id: ConversationRef | None = None
    client_message_id: ClientMessageId | None = None
    assistant_id: ClientMessageId | None = None
    context: dict[str, Any] | None = None
    configurable: dict[str, Any] | None = None
    model: ModelId | None = None
    attachments: Annotated[list[Attachment], msgspec.Meta(max_length=MAX_ATTACHMENTS)] = []

    @property
    def attached(self) -> AttachmentRequest:
        """The images and documents the message asks to attach."""
        return AttachmentRequest(
            images=tuple(a.image for a in self.attachments if a.image is not None),
            documents=tuple(a.document_id for a in self.attachments if a.document_id),
        )

    @property
    def chosen(self) -> Choice | None:
        """What the message chooses for its conversation, if anything."""
        choice = Choice(
            assistant_id=self.assistant_id,
            context=self.context,
            configurable=self.configurable,
            model=self.model,
        )
        return None if choice == Choice() else choice

    @property
    def conversation_ref(self) -> str | None:
        """The conversation id as a string: an integer id means its decimal string."""
        return _as_ref(self.conversation_id)


class _ConversationFrame(_Frame):
    conversation_id: ConversationRef

    @property
    def conversation_ref(self) -> str:
        """The conversation id as a string: an integer id means its decimal string."""
        return str(self.conversation_id)


class Stop(_ConversationFrame, tag="stop"):
    """Cancel the conversation's running turn, keeping what was streamed so far."""


class Regenerate(_ConversationFrame, tag="regenerate"):
    """Replace the last reply (or supply a missing one) with a new reply to the last message.

    `client_message_id` makes a resend safe: a regenerate resent with it gets the reply
    its first sending made (or joins it while it runs), never another new version.
    """

    client_message_id: ClientMessageId | None = None


class Edit(_ConversationFrame, tag="edit"):
    """Send `message` in place of the user message `message_id`, as its sibling.

    The conversation branches just before that message; the earlier message and what
    followed it stay as another branch (`switch_branch` goes back to it). The reply
    streams as a message's does: `ack` (with the new message's id), tokens, `message`.
    `client_message_id` makes a resend safe, as a `message`'s does: an edit resent with
    it is answered as stored (or joins its running reply), never a second sibling.
    """

    message_id: ClientMessageId
    message: str
    client_message_id: ClientMessageId | None = None


class SwitchBranch(_ConversationFrame, tag="switch_branch"):
    """Make the branch holding `message_id` (a sibling in history) the current path.

    Answered with the conversation's `history` (its newest `limit` messages) as it now
    reads; the next message continues that branch.
    """

    message_id: ClientMessageId
    limit: HistoryLimit = 100


class RequestHistory(_ConversationFrame, tag="history"):
    """Ask for a page of the conversation's messages, oldest first.

    The newest `limit` messages; or the `limit` right after `after_message_id` (a client
    catching up after a reconnect); or the `limit` right before `before_message_id` (a
    client scrolling back). Not both ids at once.
    """

    after_message_id: ClientMessageId | None = None
    before_message_id: ClientMessageId | None = None
    limit: HistoryLimit = 100


class Approve(_ConversationFrame, tag="approve"):
    """Let the tool call the conversation waits on run; the reply then goes on.

    With `args`, the call runs with these arguments instead (an edit), where the request
    allows one (its `decisions` list `edit`).
    """

    tool_call_id: ClientMessageId
    args: dict[str, Any] | None = None


class Deny(_ConversationFrame, tag="deny"):
    """Refuse the tool call the conversation waits on; the model is told, and answers."""

    tool_call_id: ClientMessageId


class Respond(_ConversationFrame, tag="respond"):
    """Answer the interrupt `interrupt_id` with any JSON value; the run goes on with it."""

    interrupt_id: ClientMessageId
    value: Any


class CancelInterrupt(_ConversationFrame, tag="cancel_interrupt"):
    """Drop what the conversation's run waits for: it ends as a stopped reply.

    With `interrupt_id`, only if that interrupt is among what it waits for.
    """

    interrupt_id: ClientMessageId | None = None


class SetModel(_ConversationFrame, tag="set_model"):
    """Have the conversation's next turns answer with `model` (one of `GET /models`).

    Every socket of the user is told (a `conversation` frame, `model_changed`).
    """

    model: ModelId


class Subscribe(_ConversationFrame, tag="subscribe"):
    """Receive every frame of the conversation's turns from now on, whoever started them.

    A reply already running is not streamed: `resume` it.
    """


class Unsubscribe(_ConversationFrame, tag="unsubscribe"):
    """End a subscription; turns this socket started still report to it."""


class Resume(_ConversationFrame, tag="resume"):
    """The running reply's frames after `after_seq`, then the rest as they come.

    With no reply running, the latest stored reply (`message`, without `seq`).
    """

    after_seq: Annotated[int, msgspec.Meta(ge=0)] = 0


# A comment on a reply: bounded, like every text the server keeps.
MAX_FEEDBACK_COMMENT = 2000


class Feedback(_ConversationFrame, tag="feedback"):
    """Rate the assistant message `message_id` (`up`, `down`, or null to clear) and comment."""

    message_id: ClientMessageId
    rating: Literal["up", "down"] | None
    comment: Annotated[str, msgspec.Meta(max_length=MAX_FEEDBACK_COMMENT)] | None = None


ClientFrame = (
    SendMessage
    | Stop
    | Regenerate
    | Edit
    | SwitchBranch
    | RequestHistory
    | Approve
    | Deny
    | Respond
    | CancelInterrupt
    | SetModel
    | Subscribe
    | Unsubscribe
    | Resume
    | Feedback
)


class FrameError(Exception):
    """A request that cannot be carried out as asked; becomes an `error` frame."""

    def __init__(self, code: ErrorCode, detail: str, *, retryable: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retryable = retryable


class _Envelope(msgspec.Struct):
    """Only the tag: `type` defaults to "message" so the seed's plain frames still work."""

    type: str = "message"


_FRAME_TYPES: dict[str, type[ClientFrame]] = {
    "message": SendMessage,
    "stop": Stop,
    "regenerate": Regenerate,
    "edit": Edit,
    "switch_branch": SwitchBranch,
    "history": RequestHistory,
    "approve": Approve,
    "deny": Deny,
    "respond": Respond,
    "cancel_interrupt": CancelInterrupt,
    "set_model": SetModel,
    "subscribe": Subscribe,
    "unsubscribe": Unsubscribe,
    "resume": Resume,
    "feedback": Feedback,
}

# JSON escapes (`\uXXXX`) take up to 6 bytes per character: a frame larger than this cannot
# hold a message within the limit, so it is refused before it is parsed.
_JSON_OVERHEAD = 6


class FrameDecoder:
    """Decodes client frames; built once per server, shared by every socket."""

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self._max_frame_bytes = max_message_bytes * _JSON_OVERHEAD + 4096
        self._envelope = msgspec.json.Decoder(_Envelope)
        self._decoders: dict[str, msgspec.json.Decoder[ClientFrame]] = {
            tag: msgspec.json.Decoder(kind) for tag, kind in _FRAME_TYPES.items()
        }

    def decode(self, data: str) -> ClientFrame:
        """Decode and validate one text frame.

        Args:
            data: The frame's text.

        Returns:
            The client frame.

        Raises:
            FrameError: With the error code the client should see.
        """
        if len(data) > self._max_frame_bytes:
            raise self._too_large()
        raw = data.encode()
        tag = self._decode_tag(raw)
        decoder = self._decoders.get(tag)
        if decoder is None:
            known = ", ".join(sorted(self._decoders))
            raise FrameError(
                "invalid_frame", f"unknown frame type {tag!r}; expected one of: {known}"
            )
        try:
            frame = decoder.decode(raw)
        except msgspec.ValidationError as error:
            raise FrameError("invalid_frame", str(error)) from None
        except RecursionError:
            raise _too_deep() from None
        if isinstance(frame, SendMessage | Edit):
            self._check_message(frame)
        if isinstance(frame, RequestHistory) and frame.after_message_id and frame.before_message_id:
            detail = "give `after_message_id` or `before_message_id`, not both"
            raise FrameError("invalid_frame", detail)
        if isinstance(frame, Feedback) and frame.comment and "\x00" in frame.comment:
            raise FrameError("invalid_frame", "`comment` must not contain NUL characters")
        if isinstance(frame, Respond | Approve) and _has_nul(frame):
            raise FrameError("invalid_frame", "an answer must not contain NUL characters")
        return frame

    def _decode_tag(self, raw: bytes) -> str:
        try:
            return self._envelope.decode(raw).type
        except msgspec.ValidationError as error:
            raise FrameError("invalid_frame", f"a frame must be a JSON object: {error}") from None
        except msgspec.DecodeError as error:
            raise FrameError("invalid_json", f"frame is not valid JSON: {error}") from None
        except RecursionError:
            # msgspec recurses once per level of nesting, even to skip a value.
            raise _too_deep() from None

    def _check_message(self, frame: SendMessage | Edit) -> None:
        images = 0
        if isinstance(frame, SendMessage):
            if any((a.document_id is None) == (a.image is None) for a in frame.attachments):
                detail = "an attachment is either {document_id} or {image}"
                raise FrameError("invalid_frame", detail)
            images = sum(len(a.image) for a in frame.attachments if a.image is not None)
        self.check_text(frame.message, images)

    def check_text(self, message: str, images: int = 0) -> None:
        """Refuse a message's text that is empty or over the size limit.

        (A NUL in it is refused by the chat service, where every surface's message passes.)

        `images`: the bytes of the images it carries, counted within the limit too.

        Raises:
            FrameError: `invalid_frame` or `message_too_large`.
        """
        if not message.strip():
            raise FrameError("invalid_frame", "`message` must not be empty or only whitespace")
        if len(message.encode()) + images > self.max_message_bytes:
            raise self._too_large()

    def _too_large(self) -> FrameError:
        limit = self.max_message_bytes
        detail = f"`message` (with its images) exceeds the limit of {limit} bytes"
        return FrameError("message_too_large", detail)


def _has_nul(frame: Respond | Approve) -> bool:
    """Whether an answer's JSON holds a NUL, which PostgreSQL cannot store as text."""
    answer = frame.value if isinstance(frame, Respond) else frame.args
    return b"\\u0000" in msgspec.json.encode(answer)


def _too_deep() -> FrameError:
    return FrameError("invalid_json", "frame is not valid JSON: it is nested too deeply")
