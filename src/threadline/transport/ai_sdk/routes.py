"""`/ai-sdk/chat`: the routes the AI SDK's `DefaultChatTransport` calls (`api: "/ai-sdk/chat"`).

`POST /ai-sdk/chat` starts a turn (a message, a regenerate, an approval answered) and
answers with its UI message stream; `GET /ai-sdk/chat/{id}/stream` replays the running
reply from its start (204 when none runs); `POST /ai-sdk/chat/{id}/stop` stops it,
keeping what was said. A client that drops its stream leaves the turn running: that is
what the SDK's resume expects. No user is named in these paths: the request acts for
the credential's user (`langgraph_api.users.acting_user`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT, HTTP_409_CONFLICT

from threadline.chat.errors import (
    ChatError,
    ConversationNotFound,
    NothingToResume,
    NothingToStop,
)
from threadline.chat.events import Event, Failed, Replied
from threadline.chat.turns.turn import Turn
from threadline.transport.ai_sdk.body import (
    ChatRequest,
    Contradicts,
    Refused,
    decisions_of,
    earlier_user_ids,
    text_of,
)
from threadline.transport.ai_sdk.chunks import HEADERS, UIStream, error_chunk
from threadline.transport.ai_sdk.following import Following
from threadline.transport.event_stream import EventStream
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.params import ConversationId
from threadline.transport.rest import ApiError
from threadline.transport.services import Services, services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("AiSdkController",)

# How many of the list's latest user messages are checked against the thread's newest
# stored messages.
CHECKED_MESSAGES = 50
STORED_MESSAGES = 500
# A resume asked of another process, and a stop, are answered within these bounds.
RESUME_WAIT_SECONDS = 10.0
STOP_WAIT_SECONDS = 30.0


class Stopped(msgspec.Struct):
    """What a stop kept: the reply as stored (`stopped` unless it had just finished)."""

    chat_id: str
    message_id: str
    content: str
    stopped: bool


class AiSdkController(Controller):
    """The AI SDK's chat transport: a chat is a conversation (`id` = `conversation_id`)."""

    path = "/ai-sdk/chat"
    tags = ["ai-sdk"]  # noqa: RUF012 - Litestar's declared attribute type
    dependencies = {"user": Provide(acting_user, sync_to_thread=False)}  # noqa: RUF012

    @post("/", status_code=HTTP_200_OK)
    async def chat(
        self, state: State, user: ActingUser, data: JSONBody[ChatRequest]
    ) -> ServerSentEvent:
        """Answer the chat's new user message (or regenerate, or an approval) as a stream."""
        services = services_of(state)
        following = Following(EventStream())
        try:
            turn = await _turn(services, user, data, following)
        except Refused as refused:
            raise ApiError(refused.status, refused.code, refused.detail) from None
        except Contradicts as contradiction:
            return _refusal(contradiction.code, contradiction.detail)
        except ChatError as error:
            return _refusal(_code(error), error.detail, error.retry_after)
        following.follow(turn)
        # An answered approval goes on in the assistant message that asked for it.
        last = data.messages[-1]
        if turn.decision is not None:
            ui = UIStream(last.id, told=[p.tool_call_id for p in last.parts if p.tool_call_id])
        else:
            ui = UIStream(turn.reply_id)
        return _response(following, ui, turn)

    @get("/{chat_id:str}/stream")
    async def resume(
        self, state: State, user: ActingUser, chat_id: ConversationId
    ) -> Response[Any]:
        """The running reply from its start, then live; 204 when no reply runs."""
        following = Following(EventStream())
        try:
            turn = await services_of(state).chat.watching.resume(user, chat_id, 0, following)
        except NothingToResume:
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        if turn is not None:
            following.follow(turn)
        elif not _running(await following.first_event(RESUME_WAIT_SECONDS)):
            following.stream.end()
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        ui = UIStream(turn.reply_id if turn is not None else None)
        return _response(following, ui, turn)

    @post("/{chat_id:str}/stop", status_code=HTTP_200_OK)
    async def stop(self, state: State, user: ActingUser, chat_id: ConversationId) -> Stopped:
        """Stop the running reply, wherever it runs; answers with what was kept."""
        following = Following(EventStream())
        try:
            turn = await services_of(state).chat.watching.stop(user, chat_id, following)
        except NothingToStop as error:
            raise ApiError(HTTP_409_CONFLICT, error.code, error.detail) from None
        try:
            outcome = await _outcome(following.stream)
        finally:
            if turn is not None:
                turn.audience.detach(following)
        if isinstance(outcome, Replied):
            return Stopped(chat_id, outcome.message_id, outcome.content, outcome.stopped)
        if isinstance(outcome, Failed):
            raise ApiError(HTTP_409_CONFLICT, outcome.code, outcome.detail)
        detail = "the reply was asked to stop, but did not tell what it kept in time"
        raise ApiError(HTTP_409_CONFLICT, "nothing_to_stop", detail)


async def _outcome(stream: EventStream) -> Replied | Failed | None:
    """The stopped turn's reply (or failure), within STOP_WAIT_SECONDS."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STOP_WAIT_SECONDS):
            async for event in stream.events():
                if isinstance(event, Replied | Failed):
                    return event
    return None


async def _turn(services: Services, user: str, data: ChatRequest, send: Following) -> Turn:
    """Start what the request asks for: a regenerate, an approval answered, or a message."""
    chat = services.chat
    last = data.messages[-1]
    if data.trigger == "regenerate-message":
        return await chat.regenerate(user, data.id, send)
    if last.role == "assistant":
        decisions = decisions_of(last)
        if not decisions:
            detail = "the last message is an assistant message with no approval answered"
            raise Refused(422, "invalid_request", detail)
        return await chat.decide(user, data.id, decisions[0], send)
    if last.role != "user":
        raise Refused(422, "invalid_request", "the last message must be the user's")
    text = text_of(last)
    limit = services.settings.max_message_bytes
    if len(text.encode()) > limit:
        raise Refused(413, "message_too_large", f"the message exceeds the limit of {limit} bytes")
    await _check_list(services, user, data, earlier_user_ids(data.messages, last))
    return await chat.send_message(user, text, data.id, last.id, send, create=True)


async def _check_list(services: Services, user: str, data: ChatRequest, earlier: list[str]) -> None:
    """Refuse a list naming user messages the thread lacks (a new chat's: any).

    Raises:
        Contradicts: An earlier user message of the list is not in the thread.
    """
    checked = earlier[-CHECKED_MESSAGES:]
    try:
        # Only the stored messages' ids are checked: no ratings, no interrupts read.
        history = await services.chat.conversations.history(
            user, data.id, STORED_MESSAGES, feedback=False, interrupts=False
        )
    except ConversationNotFound:  # a new chat's conversation is made with its turn
        stored: set[str | None] = set()
    else:
        users = [item for item in history.messages if item.role == "user"]
        stored = {item.client_message_id for item in users} | {item.message_id for item in users}
    missing = [message_id for message_id in checked if message_id not in stored]
    if missing:
        detail = (
            f"the messages list names user message {missing[0]!r}, which this conversation "
            "does not hold: load the conversation's messages again"
        )
        raise Contradicts("history_mismatch", detail)


def _response(following: Following, ui: UIStream, turn: Turn | None) -> ServerSentEvent:
    """The stream's response; a client that leaves early lets the turn go on without it."""

    async def let_go() -> None:
        if turn is not None:
            turn.audience.detach(following)  # the turn goes on: a resume picks it up

    return following.stream.response(ui.render, headers=HEADERS, last=ui.close, on_gone=let_go)


def _running(first: Event | None) -> bool:
    """Whether a resume's first event is from a running reply (not one read from storage)."""
    if first is None or isinstance(first, Failed):
        return False
    return not (isinstance(first, Replied) and first.seq is msgspec.UNSET)


def _code(error: ChatError) -> str:
    return "invalid_request" if error.code == "invalid_frame" else error.code


def _refusal(code: str, detail: str, retry_after: float | None = None) -> ServerSentEvent:
    """A stream that says only why nothing runs: `error` (Threadline's code first)."""
    chunk = msgspec.json.encode(error_chunk(code, detail, retry_after))
    messages = [ServerSentEventMessage(data=chunk.decode()), ServerSentEventMessage(data="[DONE]")]
    return ServerSentEvent(iter(messages), headers=HEADERS)
