"""Edit and branch over REST: a message's edit starts a turn, a switch changes the path.

An edit answers 202 with the ids of its turn at once: the reply streams to the sockets
subscribed to the conversation (as it would to the socket that sent an `edit` frame),
and history has it once it is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import (
    HTTP_202_ACCEPTED,
    HTTP_400_BAD_REQUEST,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
)

from threadline.chat.events import Event
from threadline.transport.params import ConversationId, UserId
from threadline.transport.protocol import ClientMessageId, FrameError
from threadline.transport.rest import ApiError, ConversationDetail
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.chat.turns.turn import Turn

__all__ = ("EditAccepted", "EditBody", "MessagesController")

MessageId = Annotated[
    str,
    PathParameter(pattern=r"^[^\x00-\x1f\x7f/]{1,128}$(?!\n)", description="A message's id."),
]


class EditBody(msgspec.Struct, forbid_unknown_fields=True):
    """The new text of a user message; `client_message_id` makes a resend safe."""

    message: str
    client_message_id: ClientMessageId | None = None


class EditAccepted(msgspec.Struct):
    """An edit's turn, started: its new message, and the reply it streams."""

    conversation_id: str
    message_id: str  # the new user message, the edited one's sibling
    reply_id: str


def _reply_id(turn: Turn) -> str:
    """The reply the edit's turn streams, or (an edit resent) the one stored already."""
    resent = turn.fork.resent if turn.fork is not None else None
    return resent.reply.message_id if resent and resent.reply else turn.reply_id


async def _to_subscribers(_: Event) -> None:
    """A REST caller has no socket: the turn's events reach the conversation's subscribers."""


class MessagesController(Controller):
    """`/users/{user_id}/conversations/{conversation_id}/messages`: edit and branch."""

    path = "/users/{user_id:str}/conversations/{conversation_id:str}/messages"
    tags = ["conversations"]  # noqa: RUF012 - Litestar's declared attribute type

    @post("/{message_id:str}/edit", status_code=HTTP_202_ACCEPTED)
    async def edit_message(
        self,
        state: State,
        user_id: UserId,
        conversation_id: ConversationId,
        message_id: MessageId,
        data: JSONBody[EditBody],
    ) -> EditAccepted:
        """Send `message` in place of a user message: a sibling branch, answered as a turn."""
        services = services_of(state)
        try:
            services.decoder.check_text(data.message)
        except FrameError as error:
            too_large = error.code == "message_too_large"
            status = HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_large else HTTP_400_BAD_REQUEST
            code = error.code if too_large else "invalid_request"
            raise ApiError(status, code, error.detail, "message") from None
        turn = await services.chat.edit(
            user_id,
            conversation_id,
            message_id,
            data.message,
            _to_subscribers,
            data.client_message_id,
        )
        return EditAccepted(conversation_id, turn.message_id, _reply_id(turn))

    @post("/{message_id:str}/switch", status_code=200)
    async def switch_branch(
        self,
        state: State,
        user_id: UserId,
        conversation_id: ConversationId,
        message_id: MessageId,
    ) -> ConversationDetail:
        """Make the branch holding the message current; answers the conversation as it reads."""
        chat = services_of(state).chat
        await chat.conversations.switch_branch(user_id, conversation_id, message_id)
        summary, page = await chat.conversations.conversation(user_id, conversation_id, 100, None)
        return ConversationDetail(
            **msgspec.structs.asdict(summary),
            messages=page.items,
            next_before=page.next_before,
            pending_approval=await chat.conversations.pending_approval(user_id, conversation_id),
        )
