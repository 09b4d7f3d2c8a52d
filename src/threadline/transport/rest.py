"""The conversations REST API: list, read, rename and delete, each for its owner only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar import Controller, delete, get, patch
from litestar.exceptions import HTTPException
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_400_BAD_REQUEST

from threadline.chat.errors import InvalidRequest
from threadline.chat.events import HistoryItem, ToolCallItem
from threadline.chat.retention import Erasure, erase_user
from threadline.conversations.index import ConversationSummary, InvalidCursor, Page
from threadline.conversations.titles import MAX_TITLE_CHARS, visible_title
from threadline.transport.params import ConversationId, UserId
from threadline.transport.protocol import ModelId
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.chat.service import ChatService

__all__ = (
    "ApiError",
    "ConversationDetail",
    "ConversationsController",
    "ModelInfo",
    "ModelList",
    "Rename",
    "erase_user_data",
    "list_models",
)


class ApiError(HTTPException):
    """An error answered as `{"code", "detail"}` with a stable code."""

    def __init__(self, status_code: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail=detail, status_code=status_code)
        self.code = code
        self.field = field


class Rename(msgspec.Struct, forbid_unknown_fields=True):
    """A new title, a model for the next turns (one of `GET /models`), or both.

    A title: 1-200 visible characters once surrounding whitespace is trimmed.
    """

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE_CHARS)] | None = None
    model: ModelId | None = None


class ModelInfo(msgspec.Struct):
    """A model a conversation may pick."""

    model_id: str
    # Whether it is sent a message's images (VISION_MODELS).
    vision: bool


class ModelList(msgspec.Struct):
    """The models a user may pick, the default first."""

    default: str
    models: list[ModelInfo]


class ConversationDetail(ConversationSummary, kw_only=True):
    """A conversation's summary and a page of its messages, oldest first."""

    messages: list[HistoryItem]
    # Pass as `before` to get the page of older messages; null at the start.
    next_before: str | None
    # The tool call the conversation waits on the user's approval for, if any.
    pending_approval: ToolCallItem | None = None


def _chat(state: State) -> ChatService:
    return services_of(state).chat


def _bad_request(field: str, detail: str) -> ApiError:
    """A 400 `invalid_request` naming the input at fault; `detail` starts with its name."""
    return ApiError(HTTP_400_BAD_REQUEST, "invalid_request", f"{field}: {detail}", field)


class ConversationsController(Controller):
    """`/users/{user_id}/conversations`: a chat sidebar's data."""

    path = "/users/{user_id:str}/conversations"
    tags = ["conversations"]  # noqa: RUF012 - Litestar's declared attribute type

    @get("/")
    async def list_conversations(
        self,
        state: State,
        user_id: UserId,
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size.")] = 20,
        cursor: Annotated[
            str | None,
            QueryParameter(max_length=512, description="`next_cursor` of the last page."),
        ] = None,
    ) -> Page:
        """List the user's conversations, newest activity first."""
        try:
            return await _chat(state).conversations.page(user_id, limit, cursor)
        except InvalidCursor:
            raise _bad_request("cursor", "not a cursor this server issued") from None

    @get("/{conversation_id:str}")
    async def get_conversation(
        self,
        state: State,
        user_id: UserId,
        conversation_id: ConversationId,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Messages per page.")] = 100,
        before: Annotated[
            str | None,
            QueryParameter(max_length=128, description="Return messages before this message id."),
        ] = None,
    ) -> ConversationDetail:
        """A conversation's metadata and its latest messages (or those before `before`)."""
        try:
            summary, page = await _chat(state).conversations.conversation(
                user_id, conversation_id, limit, before
            )
        except InvalidRequest:
            raise _bad_request("before", "not a message of this conversation") from None
        pending = await _chat(state).conversations.pending_approval(user_id, conversation_id)
        return ConversationDetail(
            **msgspec.structs.asdict(summary),
            messages=page.items,
            next_before=page.next_before,
            pending_approval=pending,
        )

    @patch("/{conversation_id:str}")
    async def rename_conversation(
        self, state: State, user_id: UserId, conversation_id: ConversationId, data: JSONBody[Rename]
    ) -> ConversationSummary:
        """Set the title (an automatic title never replaces it afterwards), the model, or both."""
        title = None if data.title is None else _title(data.title)
        chat = _chat(state)
        if data.model is not None:
            summary = await chat.conversations.set_model(user_id, conversation_id, data.model)
            if title is None:
                return summary
        if title is None:
            raise _bad_request("title", "give a `title`, a `model`, or both")
        return await chat.conversations.rename(user_id, conversation_id, title)

    @delete("/{conversation_id:str}")
    async def delete_conversation(
        self, state: State, user_id: UserId, conversation_id: ConversationId
    ) -> None:
        """Delete the conversation and its whole thread; a live turn is stopped first."""
        await _chat(state).conversations.delete(user_id, conversation_id)


def _title(given: str) -> str:
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in given.strip()):
        raise _bad_request("title", "must not contain control characters")
    title = visible_title(given)  # without U+202E, zero-width spaces, ...
    if not 1 <= len(title) <= MAX_TITLE_CHARS:
        detail = f"must be 1-{MAX_TITLE_CHARS} visible characters after trimming whitespace"
        raise _bad_request("title", detail)
    return title


@get("/models", tags=["conversations"])
async def list_models(state: State) -> ModelList:
    """The models a conversation may pick (`model` of a message, `set_model`, PATCH)."""
    choices = _chat(state).models
    listed = [ModelInfo(name, choices.takes_images(name)) for name in choices.allowed]
    return ModelList(default=choices.default, models=listed)


@delete("/users/{user_id:str}", status_code=200, tags=["users"])
async def erase_user_data(state: State, user_id: UserId) -> Erasure:
    """Erase everything of a user: every conversation, its messages and its index entry."""
    return await erase_user(_chat(state), user_id, services_of(state).user_store)
