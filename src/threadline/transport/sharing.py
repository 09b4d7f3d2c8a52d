"""Feedback, shares, export and import over REST, each for the owner only; the admin export.

The routes call the chat service's `feedback`, `shares` and `transfers`; a share's page
itself is public (`shared_page`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.router import Router

from threadline.chat.features.shares import Share
from threadline.chat.features.transfers import Imported, as_markdown
from threadline.settings import Settings
from threadline.storage.store_pages import InvalidPageCursor
from threadline.transport.params import ConversationId, UserId
from threadline.transport.protocol import MAX_FEEDBACK_COMMENT
from threadline.transport.rest import ApiError
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.chat.service import ChatService

__all__ = (
    "FeedbackBody",
    "FeedbackGiven",
    "ShareCreated",
    "SharingController",
    "feedback_export",
    "import_router",
)

MessageId = Annotated[
    str, PathParameter(pattern=r"^[A-Za-z0-9_-]{1,128}$(?!\n)", description="A message's id.")
]
ShareId = Annotated[
    str, PathParameter(pattern=r"^[A-Za-z0-9_-]{1,64}$(?!\n)", description="A share's id.")
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FeedbackBody(msgspec.Struct, forbid_unknown_fields=True):
    """A rating (`up`, `down`, or null to clear it) and an optional comment."""

    rating: Literal["up", "down"] | None
    comment: Annotated[str, msgspec.Meta(max_length=MAX_FEEDBACK_COMMENT)] | None = None


class FeedbackGiven(msgspec.Struct):
    """The feedback as stored: what `PUT .../feedback` answers (a null rating cleared it)."""

    conversation_id: str
    message_id: str
    rating: Literal["up", "down"] | None
    comment: str | None


class ShareCreated(msgspec.Struct):
    """A new share: its id and the link anyone may open, without an account."""

    share_id: str
    url: str
    conversation_id: str
    created_at: str


def _chat(state: State) -> ChatService:
    return services_of(state).chat


def _created(request: Request[Any, Any, Any], share: Share) -> ShareCreated:
    url = f"{str(request.base_url).rstrip('/')}/shared/{share.share_id}"
    return ShareCreated(share.share_id, url, share.conversation_id, share.created_at)


class SharingController(Controller):
    """A conversation's feedback, shares and export."""

    path = "/users/{user_id:str}/conversations/{conversation_id:str}"
    tags = ["sharing"]  # noqa: RUF012 - Litestar's declared attribute type

    @put("/messages/{message_id:str}/feedback")
    async def give_feedback(
        self,
        state: State,
        user_id: UserId,
        conversation_id: ConversationId,
        message_id: MessageId,
        data: JSONBody[FeedbackBody],
    ) -> FeedbackGiven:
        """Rate an assistant message (thumbs up or down) and comment on it."""
        if data.comment and "\x00" in data.comment:
            raise ApiError(400, "invalid_request", "comment: must not contain NUL", "comment")
        saved = await _chat(state).feedback.give(
            user_id, conversation_id, message_id, data.rating, data.comment or ""
        )
        return FeedbackGiven(saved.conversation_id, saved.message_id, saved.rating, saved.comment)

    @post("/share", status_code=201)
    async def share_conversation(
        self, request: Request[Any, Any, Any], user_id: UserId, conversation_id: ConversationId
    ) -> ShareCreated:
        """Share the conversation as it stands now: a read-only link, revocable."""
        share = await _chat(request.app.state).shares.create(user_id, conversation_id)
        return _created(request, share)

    @get("/share")
    async def list_shares(
        self, request: Request[Any, Any, Any], user_id: UserId, conversation_id: ConversationId
    ) -> list[ShareCreated]:
        """The conversation's shares that are not revoked, oldest first."""
        shares = await _chat(request.app.state).shares.of_conversation(user_id, conversation_id)
        return [_created(request, share) for share in shares]

    @delete("/share/{share_id:str}")
    async def revoke_share(
        self, state: State, user_id: UserId, conversation_id: ConversationId, share_id: ShareId
    ) -> None:
        """Revoke a share: its link answers 404 from now on."""
        await _chat(state).shares.revoke(user_id, conversation_id, share_id)

    @get("/export")
    async def export_conversation(
        self,
        state: State,
        user_id: UserId,
        conversation_id: ConversationId,
        format: Annotated[
            Literal["json", "markdown"], QueryParameter(description="json or markdown.")
        ] = "json",
    ) -> Response[Any]:
        """The whole conversation, to download: JSON (which import takes back) or Markdown."""
        export = await _chat(state).transfers.export(user_id, conversation_id)
        name = f"conversation-{conversation_id}"
        if format == "markdown":
            return Response(
                as_markdown(export),
                media_type="text/markdown",  # Litestar adds `; charset=utf-8` to text types
                headers={"Content-Disposition": f'attachment; filename="{name}.md"'},
            )
        return Response(
            msgspec.json.encode(export),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
        )


@post("/users/{user_id:str}/conversations/import", status_code=201, tags=["sharing"])
async def import_conversations(
    state: State, user_id: UserId, data: JSONBody[dict[str, Any] | list[Any]]
) -> Imported:
    """Bring conversations in: Threadline's JSON export, or ChatGPT's conversations.json."""
    return await _chat(state).transfers.import_document(user_id, data)


def import_router(settings: Settings) -> Router:
    """The import route, which takes bodies up to IMPORT_MAX_BYTES."""
    return Router(
        "/", route_handlers=[import_conversations], request_max_body_size=settings.import_max_bytes
    )


@get("/admin/feedback", opt={"admin": True}, tags=["admin"])
async def feedback_export(
    state: State,
    since: Annotated[
        datetime | None, QueryParameter(description="Only feedback given at or after this.")
    ] = None,
    cursor: Annotated[
        str | None, QueryParameter(max_length=1024, description="`X-Next-Cursor` of the last page.")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Lines per page.")] = 500,
) -> Response[bytes]:
    """Every user's feedback as JSON lines, oldest first; `X-Next-Cursor` names the next page."""
    when = since or _EPOCH
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        records, after = await _chat(state).feedback.export(when, cursor, limit)
    except InvalidPageCursor:
        raise ApiError(
            400, "invalid_request", "cursor: not one this server issued", "cursor"
        ) from None
    body = b"".join(msgspec.json.encode(record) + b"\n" for record in records)
    headers = {"X-Next-Cursor": after} if after else {}
    return Response(body, media_type="application/x-ndjson", headers=headers)
