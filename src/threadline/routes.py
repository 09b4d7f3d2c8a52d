"""HTTP and WebSocket routes: the transport around `ChatSession`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal, cast

import msgspec
from litestar import Response, WebSocket, get, websocket
from litestar.params import FromPath
from litestar.status_codes import (
    HTTP_503_SERVICE_UNAVAILABLE,
    WS_1008_POLICY_VIOLATION,
    WS_1011_INTERNAL_ERROR,
)

from threadline.outbox import Outbox
from threadline.params import USER_ID_PATTERN, UserId
from threadline.protocol import ErrorFrame, encode
from threadline.session import ChatSession

if TYPE_CHECKING:
    from litestar.datastructures import State
    from litestar.types import WebSocketDisconnectEvent, WebSocketReceiveEvent

    from threadline.app import Services

__all__ = (
    "ConnectionStatus",
    "Health",
    "chat_socket",
    "guarded",
    "health",
    "ready",
    "user_status",
)

logger = logging.getLogger(__name__)

_user_id = re.compile(USER_ID_PATTERN)
# When a socket closes, frames still queued for it get this long to go out.
_FLUSH_GRACE = 1.0


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


@websocket("/ws/{user_id:str}")
async def chat_socket(socket: WebSocket[Any, Any, Any], user_id: FromPath[str]) -> None:
    """Chat over one socket: client frames in, ack/token/message/error frames out.

    Args:
        socket: The client's WebSocket.
        user_id: The user the socket speaks for.
    """
    services = _services(socket.app.state)
    settings = services.settings
    await socket.accept()
    if not _user_id.match(user_id):
        detail = "user_id must be 1-128 characters of letters, digits and _ . @ : -"
        await socket.send_text(encode(ErrorFrame("invalid_frame", detail, retryable=False)))
        await socket.close(WS_1008_POLICY_VIOLATION, "invalid user_id")
        return
    outbox = Outbox(
        socket, max_frames=settings.socket_send_queue, send_timeout=settings.socket_send_timeout
    )
    session = ChatSession(
        user_id,
        decoder=services.decoder,
        chat=services.chat,
        send=outbox,
        stop_on_close=settings.on_disconnect == "cancel",
    )
    with services.presence.track(user_id):
        logger.info("socket.open", extra={"user_id": user_id})
        await guarded(outbox, _serve(socket, session, outbox), session.close)
    logger.info("socket.closed", extra={"user_id": user_id})


async def guarded(
    outbox: Outbox, work: Coroutine[Any, Any, None], cleanup: Callable[[], Awaitable[None]]
) -> None:
    """Run a socket's `work` so that no failure of the server's goes unseen.

    An unexpected exception is logged with its traceback and told to the client as an
    `internal_error` frame before the socket closes with 1011: never a silent close.

    Args:
        outbox: The socket's outgoing frames (started here, closed at the end).
        work: What the socket does until the client leaves.
        cleanup: Run after `work`, however it ended (the session lets go of its turns).
    """
    outbox.start()
    failed = False
    try:
        await work
    except Exception:
        failed = True
        logger.exception("socket.failed")
        detail = "the server failed to handle this connection"
        await outbox(ErrorFrame("internal_error", detail, retryable=False))
    finally:
        await cleanup()
        await outbox.close(grace=_FLUSH_GRACE)
    if failed:
        await outbox.close_socket(WS_1011_INTERNAL_ERROR, "internal error")


async def _serve(socket: WebSocket[Any, Any, Any], session: ChatSession, outbox: Outbox) -> None:
    """Read the client's frames until it leaves, or until it is dropped for reading too slowly."""
    reading = asyncio.create_task(_read_frames(socket, session, outbox))
    dropped = asyncio.create_task(outbox.dropped.wait())
    try:
        await asyncio.wait({reading, dropped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        dropped.cancel()
        if not reading.done():
            reading.cancel()
        await asyncio.gather(reading, dropped, return_exceptions=True)
    if not reading.cancelled():
        reading.result()  # a failure while reading is the guard's to report


async def _read_frames(
    socket: WebSocket[Any, Any, Any], session: ChatSession, outbox: Outbox
) -> None:
    while not outbox.gone:
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
