"""The thread event stream over a WebSocket: commands and events on one connection.

The socket is the stream's path (`/threads/{thread_id}/stream/events`), authenticated as
`/ws` is (a credential in a header, or `?ticket=` for a browser), and held to what `/ws`
is: it takes one of the user's socket seats (MAX_SOCKETS_PER_USER) while open, and once
the credential it was opened with expires or is revoked it is told so (a
`permission_denied` error with Threadline's `token_expired` / `token_revoked`) and closed
with 4401. Commands come in as
JSON messages and are answered by `id`; `subscription.subscribe` adds channels to what
the socket is sent (the first one starts watching the thread: the running reply from
its start, then every turn) and `subscription.unsubscribe` takes them away. Events and
answers go out through the socket's `Outbox`, bounded as `/ws`'s are.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import msgspec
from litestar import Request, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from threadline.chat.events import Event
from threadline.transport.access import principal_of
from threadline.transport.langgraph_api.users import acting_user, seat_user
from threadline.transport.outbox import Outbox
from threadline.transport.params import ConversationId
from threadline.transport.rest import ApiError
from threadline.transport.services import Services, services_of
from threadline.transport.socket import WS_4401_TOKEN_EXPIRED, CredentialEnd, read_until_ended
from threadline.transport.thread_events.commands import (
    Command,
    CommandError,
    StreamRequest,
    Subscribe,
    Unsubscribe,
    error_body,
    params_of,
    success,
)
from threadline.transport.thread_events.handling import carry_out
from threadline.transport.thread_events.routes import decode, envelopes_for
from threadline.transport.thread_events.watch import Watch

if TYPE_CHECKING:
    from threadline.transport.thread_events.envelopes import Envelopes

__all__ = ("thread_events_socket",)

logger = logging.getLogger(__name__)

# A command, as the HTTP form's body is bounded (its message's text by MAX_MESSAGE_BYTES).
MAX_MESSAGE_BYTES = 1024 * 1024
# Subscriptions one socket may hold at once.
MAX_SUBSCRIPTIONS = 32
# When the socket closes, what is queued for it gets this long to go out.
_FLUSH_GRACE = 1.0


@websocket("/threads/{thread_id:str}/stream/events", opt={"seat_user": seat_user})
async def thread_events_socket(socket: WebSocket[Any, Any, Any], thread_id: ConversationId) -> None:
    """Serve one client's commands and events for one thread until it leaves."""
    services = services_of(socket.app.state)
    try:
        # The user is found as for every LangGraph API route (the request's scope and
        # headers are all `acting_user` reads; a socket has both).
        user = acting_user(cast("Request[Any, Any, Any]", socket))
    except ApiError as refused:
        await socket.accept()
        await socket.close(4000 + refused.status_code, refused.code)
        return
    settings = services.settings
    outbox = Outbox(
        socket,
        max_frames=settings.socket_send_queue,
        max_bytes=settings.socket_send_bytes,
        budget=services.send_budget,
        send_timeout=settings.socket_send_timeout,
    )
    await socket.accept()
    connection = _Connection(services, user, thread_id, outbox)
    ending = CredentialEnd(principal_of(socket.scope), services.identity.revocations)
    why = None
    try:
        why = await read_until_ended(connection.serve(socket), outbox, ending)
        if why is not None:  # a run started goes on; the client reads it once back
            ended = CommandError("permission_denied", why.code, why.detail, 401)
            await outbox.put(msgspec.json.encode(error_body(None, ended)))
    except Exception:
        logger.exception("thread_events.socket_failed")
        failed = CommandError("unknown_error", "internal_error", "the server failed")
        await outbox.put(msgspec.json.encode(error_body(None, failed)))
    finally:
        await connection.close()
        await outbox.close(grace=_FLUSH_GRACE)
    if why is not None:
        await outbox.close_socket(WS_4401_TOKEN_EXPIRED, why.code.replace("_", " "))


class _Connection:
    """One socket's subscriptions, its watch of the thread, and its commands."""

    def __init__(self, services: Services, user: str, thread_id: str, outbox: Outbox) -> None:
        self._services = services
        self._user = user
        self._thread_id = thread_id
        self._outbox = outbox
        self._subscriptions: dict[str, Subscribe] = {}
        self._counter = 0
        self._envelopes: Envelopes = envelopes_for(StreamRequest(channels=["lifecycle"]))
        self._watch = Watch(services.chat, user, thread_id, self._deliver)
        self._watching = False

    async def serve(self, socket: WebSocket[Any, Any, Any]) -> None:
        """Read and answer commands until the client leaves (or is dropped)."""
        while not self._outbox.gone:
            try:
                text = await socket.receive_data(mode="text")
            except WebSocketDisconnect:
                return
            data = text.encode() if isinstance(text, str) else text
            if len(data) > MAX_MESSAGE_BYTES:
                detail = f"a command is at most {MAX_MESSAGE_BYTES} bytes"
                refused = CommandError("invalid_argument", "message_too_large", detail, 413)
                await self._outbox.put(msgspec.json.encode(error_body(None, refused)))
                continue
            answer = await self._answer(data)
            await self._outbox.put(msgspec.json.encode(answer))

    async def close(self) -> None:
        """Stop watching the thread."""
        if self._watching:
            await self._watch.close()

    async def _deliver(self, event: Event) -> None:
        for envelope in self._envelopes.render(event):
            await self._outbox.put(msgspec.json.encode(envelope))

    async def _answer(self, data: bytes) -> dict[str, Any]:
        try:
            command: Command = decode(Command, data)
        except CommandError as error:
            return error_body(None, error)
        try:
            return success(command.id, await self._carry_out(command))
        except CommandError as error:
            return error_body(command.id, error)

    async def _carry_out(self, command: Command) -> Any:
        if command.method == "subscription.subscribe":
            return await self._subscribe(params_of(Subscribe, command.params))
        if command.method == "subscription.unsubscribe":
            gone = params_of(Unsubscribe, command.params).subscription_id
            if self._subscriptions.pop(gone, None) is None:
                detail = f"no subscription {gone!r} on this socket"
                raise CommandError("no_such_subscription", "invalid_request", detail)
            self._filter()
            return {}
        return await carry_out(self._services, self._user, self._thread_id, command)

    async def _subscribe(self, subscribe: Subscribe) -> dict[str, Any]:
        if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
            detail = f"at most {MAX_SUBSCRIPTIONS} subscriptions per socket"
            raise CommandError("invalid_argument", "too_many_subscriptions", detail)
        envelopes_for(StreamRequest(subscribe.channels, subscribe.namespaces))  # checked
        self._counter += 1
        subscription_id = f"sub-{self._counter}"
        self._subscriptions[subscription_id] = subscribe
        self._filter()
        if not self._watching:
            self._watching = True
            await self._watch.open(0)
        return {"subscription_id": subscription_id}

    def _filter(self) -> None:
        """What the socket is sent: the union of its subscriptions' channels."""
        channels = {c for s in self._subscriptions.values() for c in s.channels}
        root = any(s.namespaces is None or [] in s.namespaces for s in self._subscriptions.values())
        self._envelopes.filter_to(channels, root=root)
