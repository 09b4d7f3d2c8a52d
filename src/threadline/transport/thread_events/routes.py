"""The thread event stream over HTTP: commands, and a stream of events per request.

`POST /threads/{thread_id}/commands` carries out one command and answers it (the
protocol's success or error, by the command's `id`); `POST
/threads/{thread_id}/stream/events` answers `text/event-stream`: each event as a `data:`
line with its `event_id` as the SSE `id:`, for as long as the client stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import Provide
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK

from threadline.chat.events import Event
from threadline.transport.bodies import decode_body
from threadline.transport.event_stream import EventStream
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.params import ConversationId
from threadline.transport.services import services_of
from threadline.transport.thread_events.commands import (
    Command,
    CommandError,
    StreamRequest,
    error_body,
    success,
)
from threadline.transport.thread_events.envelopes import CHANNELS, Envelopes
from threadline.transport.thread_events.handling import carry_out
from threadline.transport.thread_events.watch import Watch

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("ThreadEventsController", "decode", "envelopes_for")

HEADERS = {"x-accel-buffering": "no", "cache-control": "no-cache"}


def decode(kind: type[Command] | type[StreamRequest], body: bytes) -> Any:
    """The body as `kind`.

    Raises:
        CommandError: Not JSON of that shape (`invalid_argument`).
    """
    try:
        return decode_body(body, kind)
    except ValueError as error:
        raise CommandError("invalid_argument", "invalid_request", str(error)) from None


def envelopes_for(request: StreamRequest) -> Envelopes:
    """The stream's translator, for the channels and namespaces it asks for.

    Raises:
        CommandError: A channel the protocol does not have.
    """
    unknown = [c for c in request.channels if c not in CHANNELS and c.split(":")[0] != "custom"]
    if unknown:
        detail = f"unknown channel {unknown[0]!r}; channels: {sorted(CHANNELS)} or custom[:name]"
        raise CommandError("invalid_argument", "invalid_request", detail)
    root = request.namespaces is None or [] in request.namespaces
    return Envelopes(request.channels, root=root)


def _refused(command_id: int | None, error: CommandError) -> Response[Any]:
    return Response(error_body(command_id, error), status_code=error.status)


class ThreadEventsController(Controller):
    """LangChain's thread event stream: a thread is a conversation (`thread_id`)."""

    path = "/threads/{thread_id:str}"
    tags = ["thread-events"]  # noqa: RUF012 - Litestar's declared attribute type
    dependencies = {"user": Provide(acting_user, sync_to_thread=False)}  # noqa: RUF012

    @post("/commands", status_code=HTTP_200_OK)
    async def commands(
        self,
        state: State,
        request: Request[Any, Any, Any],
        user: ActingUser,
        thread_id: ConversationId,
    ) -> Response[Any]:
        """Carry out one command; its answer, or the protocol's error (Threadline's code)."""
        try:
            command: Command = decode(Command, await request.body())
        except CommandError as error:
            return _refused(None, error)
        try:
            result = await carry_out(services_of(state), user, thread_id, command)
        except CommandError as error:
            return _refused(command.id, error)
        return Response(success(command.id, result), status_code=HTTP_200_OK)

    @post("/stream/events", status_code=HTTP_200_OK)
    async def stream(
        self,
        state: State,
        request: Request[Any, Any, Any],
        user: ActingUser,
        thread_id: ConversationId,
    ) -> Response[Any] | ServerSentEvent:
        """The thread's events from `since` (the running reply's seq), then live."""
        try:
            asked: StreamRequest = decode(StreamRequest, await request.body())
            envelopes = envelopes_for(asked)
        except CommandError as error:
            return _refused(None, error)
        stream = EventStream()
        watch = Watch(services_of(state).chat, user, thread_id, stream)
        try:
            await watch.open(asked.since or 0)
        except BaseException:
            await watch.close()  # nothing is left listening for a response never sent
            raise

        def render(event: Event) -> list[ServerSentEventMessage]:
            return [
                ServerSentEventMessage(
                    data=msgspec.json.encode(envelope).decode(), id=envelope["event_id"]
                )
                for envelope in envelopes.render(event)
            ]

        return stream.response(render, headers=HEADERS, on_gone=watch.close)
