"""HTTP and WebSocket routes: the transport around `ChatSession`."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, Literal, cast

import msgspec
from litestar import Response, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE, WS_1008_POLICY_VIOLATION

from threadline.params import USER_ID_PATTERN, UserId
from threadline.protocol import ErrorFrame, ServerFrame, encode
from threadline.session import ChatSession

if TYPE_CHECKING:
    from litestar.datastructures import State
    from litestar.types import WebSocketDisconnectEvent, WebSocketReceiveEvent

    from threadline.app import Services

__all__ = ("ConnectionStatus", "Health", "chat_socket", "health", "ready", "user_status")

logger = logging.getLogger(__name__)

_user_id = re.compile(USER_ID_PATTERN)


def _services(state: State) -> Services:
    services: Services = state.services
    return services


class ConnectionStatus(msgspec.Struct):
    """Whether a user has sockets open on this server."""

    user_id: str
    connected: bool
    connections: int


@get("/ws/users/{user_id:str}/status", sync_to_thread=False)
def user_status(user_id: UserId, state: State) -> ConnectionStatus:
    """Report whether `user_id` has at least one socket open on this server.

    Args:
        user_id: The user to look up.
        state: Application state holding the presence registry.

    Returns:
        The user's status.
    """
    count = _services(state).presence.connections(user_id)
    return ConnectionStatus(user_id=user_id, connected=count > 0, connections=count)


class _SocketSender:
    """Sends frames until the client goes away, then drops them.

    A turn keeps running after its client disconnects so the reply is still persisted;
    only delivery stops.
    """

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self._socket = socket
        self.gone = False

    async def __call__(self, frame: ServerFrame) -> None:
        if self.gone:
            return
        try:
            await self._socket.send_text(encode(frame))
        except (WebSocketDisconnect, OSError, RuntimeError):
            self.gone = True


@websocket("/ws/{user_id:str}")
async def chat_socket(socket: WebSocket[Any, Any, Any], user_id: FromPath[str]) -> None:
    """Chat over one socket: client frames in, ack/token/message/error frames out.

    Args:
        socket: The client's WebSocket.
        user_id: The user the socket speaks for.
    """
    services = _services(socket.app.state)
    await socket.accept()
    if not _user_id.match(user_id):
        detail = "user_id must be 1-128 characters of letters, digits and _ . @ : -"
        await socket.send_text(encode(ErrorFrame("invalid_frame", detail, retryable=False)))
        await socket.close(WS_1008_POLICY_VIOLATION, "invalid user_id")
        return
    send = _SocketSender(socket)
    session = ChatSession(
        user_id,
        decoder=services.decoder,
        chat=services.chat,
        send=send,
        stop_on_close=services.settings.on_disconnect == "cancel",
    )
    with services.presence.track(user_id):
        logger.info("socket.open", extra={"user_id": user_id})
        try:
            await _read_frames(socket, session, send)
        finally:
            await session.close()
    logger.info("socket.closed", extra={"user_id": user_id})


async def _read_frames(
    socket: WebSocket[Any, Any, Any], session: ChatSession, send: _SocketSender
) -> None:
    while not send.gone:
        event = cast("WebSocketReceiveEvent | WebSocketDisconnectEvent", await socket.receive())
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        if text is not None:
            await session.on_text(text)
        else:
            await session.on_bytes()


class Health(msgspec.Struct, omit_defaults=True):
    """Liveness or readiness."""

    status: Literal["ok", "ready", "unavailable"]
    detail: str | None = None


@get("/health", sync_to_thread=False)
def health() -> Health:
    """Liveness: the process is up and serving requests."""
    return Health("ok")


@get("/ready")
async def ready(state: State) -> Response[Health]:
    """Readiness: the database answers. 503 while it does not (the pool reconnects alone).

    Args:
        state: Application state holding the pool.

    Returns:
        200 when ready, 503 otherwise.
    """
    pool = _services(state).pool
    try:
        async with asyncio.timeout(2), pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means not ready
        unavailable = Health("unavailable", "the database is unreachable")
        return Response(unavailable, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(Health("ready"))
