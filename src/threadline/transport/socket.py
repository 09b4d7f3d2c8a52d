"""The chat WebSocket: accepts a user's socket and serves it until it closes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from litestar import WebSocket, websocket
from litestar.params import FromPath
from litestar.status_codes import WS_1008_POLICY_VIOLATION, WS_1011_INTERNAL_ERROR

from threadline.chat.events import Failed
from threadline.identity.principal import Principal, is_user_id
from threadline.identity.revocations import Revocations
from threadline.observability.metrics import OPEN_SOCKETS
from threadline.transport.access import principal_of
from threadline.transport.outbox import Outbox
from threadline.transport.services import services_of
from threadline.transport.session import ChatSession
from threadline.transport.websocket_frames import encode

if TYPE_CHECKING:
    from litestar.types import WebSocketDisconnectEvent, WebSocketReceiveEvent

__all__ = ("WS_4401_TOKEN_EXPIRED", "CredentialEnd", "chat_socket", "guarded", "read_until_ended")

logger = logging.getLogger(__name__)

# When a socket closes, frames still queued for it get this long to go out.
_FLUSH_GRACE = 1.0
# The close code of a socket whose credential expired or was revoked (4000 + HTTP 401).
WS_4401_TOKEN_EXPIRED = 4401
# A close the server asks for once the socket's work is done: code and reason.
Closing = tuple[int, str] | None


@websocket("/ws/{user_id:str}")
async def chat_socket(socket: WebSocket[Any, Any, Any], user_id: FromPath[str]) -> None:
    """Chat over one socket: client frames in, ack/token/message/error frames out.

    Args:
        socket: The client's WebSocket.
        user_id: The user the socket speaks for.
    """
    services = services_of(socket.app.state)
    settings = services.settings
    if not is_user_id(user_id):
        await socket.accept()
        detail = "user_id must be 1-128 characters of letters, digits and _ . @ : | -"
        await socket.send_text(encode(Failed("invalid_frame", detail, retryable=False)))
        await socket.close(WS_1008_POLICY_VIOLATION, "invalid user_id")
        return
    outbox = Outbox(
        socket,
        max_frames=settings.socket_send_queue,
        max_bytes=settings.socket_send_bytes,
        budget=services.send_budget,
        send_timeout=settings.socket_send_timeout,
    )
    session = ChatSession(
        user_id,
        decoder=services.decoder,
        chat=services.chat,
        send=outbox,
        stop_on_close=settings.on_disconnect == "cancel",
    )
    relay = services.chat.relay
    # Before the handshake completes, so that every process knows of the socket by the
    # time its client can ask anything of any of them.
    await relay.opened(user_id, outbox)
    try:
        await socket.accept()
        OPEN_SOCKETS.inc()
        logger.info("socket.open", extra={"user_id": user_id})
        ending = CredentialEnd(principal_of(socket.scope), services.identity.revocations)
        try:
            await guarded(outbox, _serve(socket, session, outbox, ending), session.close)
        finally:
            OPEN_SOCKETS.dec()
    finally:
        await relay.closed(user_id, outbox)
    logger.info("socket.closed", extra={"user_id": user_id})


async def guarded(
    outbox: Outbox, work: Coroutine[Any, Any, Closing], cleanup: Callable[[], Awaitable[None]]
) -> None:
    """Run a socket's `work` so that no failure of the server's goes unseen.

    An unexpected exception is logged with its traceback and told to the client as an
    `internal_error` frame before the socket closes with 1011: never a silent close.

    Args:
        outbox: The socket's outgoing frames (closed at the end).
        work: What the socket does until the client leaves; it may ask for a close.
        cleanup: Run after `work`, however it ended (the session lets go of its turns).
    """
    failed = False
    closing: Closing = None
    try:
        closing = await work
    except Exception:
        failed = True
        logger.exception("socket.failed")
        detail = "the server failed to handle this connection"
        await outbox(Failed("internal_error", detail, retryable=False))
    finally:
        await cleanup()
        await outbox.close(grace=_FLUSH_GRACE)
    if failed:
        closing = (WS_1011_INTERNAL_ERROR, "internal error")
    if closing is not None:
        await outbox.close_socket(*closing)


class CredentialEnd:
    """Ends a socket's reading once its credential expires or its API key is revoked."""

    def __init__(self, principal: Principal, revocations: Revocations) -> None:
        self._principal = principal
        self._revocations = revocations
        self.why: Failed | None = None  # what the client is told, once it ended
        self._timer: asyncio.TimerHandle | None = None
        self._unwatch: Callable[[], None] | None = None

    def start(self, stop_reading: Callable[[], object]) -> None:
        """Call `stop_reading` when the credential ends (its `why` is set by then)."""

        def end(why: Failed) -> None:
            if self.why is None:
                self.why = why
                stop_reading()

        expires_at, key_id = self._principal.expires_at, self._principal.key_id
        if expires_at is not None:
            delay = max(expires_at - time.time(), 0)
            expired = Failed("token_expired", _EXPIRED, retryable=True)
            self._timer = asyncio.get_running_loop().call_later(delay, end, expired)
        if key_id is not None:
            revoked = Failed("token_revoked", _REVOKED, retryable=False)
            self._unwatch = self._revocations.watch(key_id, lambda: end(revoked))

    def stop(self) -> None:
        """The socket is closing anyway: stop watching."""
        if self._timer is not None:
            self._timer.cancel()
        if self._unwatch is not None:
            self._unwatch()


_EXPIRED = "your credential has expired; reconnect with a fresh one"
_REVOKED = "the API key this socket was opened with has been revoked"


async def _serve(
    socket: WebSocket[Any, Any, Any],
    session: ChatSession,
    outbox: Outbox,
    ending: CredentialEnd,
) -> Closing:
    """Read the client's frames until it leaves, is dropped, or its credential ends."""
    why = await read_until_ended(_read_frames(socket, session, outbox), outbox, ending)
    if why is not None:
        return await _credential_ended(session, outbox, why)
    return None


async def read_until_ended(
    reading: Coroutine[Any, Any, None], outbox: Outbox, ending: CredentialEnd
) -> Failed | None:
    """Run a socket's `reading` until the client leaves, is dropped, or its credential ends.

    Returns:
        Why the credential ended it (expired, revoked), or None if it ended otherwise.
    """
    task = asyncio.create_task(reading)
    outbox.when_dropped(task.cancel)
    ending.start(task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is None or current.cancelling():
            raise
        if ending.why is not None:
            return ending.why
        if outbox.dropped:
            return None  # the outbox stopped the reading: the client was too slow
        raise
    finally:
        ending.stop()
    return None


async def _credential_ended(session: ChatSession, outbox: Outbox, why: Failed) -> Closing:
    """Tell the client its credential expired or was revoked, and close with 4401.

    A reply in progress still completes and is stored: the client reads it from history
    once it reconnects (with a fresh credential).
    """
    session.keep_turns()
    await outbox(why)
    return (WS_4401_TOKEN_EXPIRED, why.code.replace("_", " "))


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
