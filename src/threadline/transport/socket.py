"""The chat WebSocket: accepts a user's socket and serves it until it closes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from litestar import WebSocket, websocket
from litestar.params import FromPath
from litestar.status_codes import WS_1008_POLICY_VIOLATION, WS_1011_INTERNAL_ERROR

from threadline.transport.outbox import Outbox
from threadline.transport.params import USER_ID_PATTERN
from threadline.transport.protocol import ErrorFrame, encode
from threadline.transport.services import services_of
from threadline.transport.session import ChatSession

if TYPE_CHECKING:
    from litestar.types import WebSocketDisconnectEvent, WebSocketReceiveEvent

__all__ = ("chat_socket", "guarded")

logger = logging.getLogger(__name__)

_user_id = re.compile(USER_ID_PATTERN)
# When a socket closes, frames still queued for it get this long to go out.
_FLUSH_GRACE = 1.0


@websocket("/ws/{user_id:str}")
async def chat_socket(socket: WebSocket[Any, Any, Any], user_id: FromPath[str]) -> None:
    """Chat over one socket: client frames in, ack/token/message/error frames out.

    Args:
        socket: The client's WebSocket.
        user_id: The user the socket speaks for.
    """
    services = services_of(socket.app.state)
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
        outbox: The socket's outgoing frames (closed at the end).
        work: What the socket does until the client leaves.
        cleanup: Run after `work`, however it ended (the session lets go of its turns).
    """
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
    outbox.when_dropped(reading.cancel)
    try:
        await reading
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if outbox.dropped and current is not None and not current.cancelling():
            return  # the outbox stopped the reading: the client was too slow
        raise


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
