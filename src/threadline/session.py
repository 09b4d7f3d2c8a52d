"""One client's socket session: turns frames into turns and turns into frames.

Transport-free: it receives decoded text and a `send` coroutine, so the protocol logic does
not depend on Litestar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from threadline.conversations import ConversationIndex, new_id
from threadline.errors import classify
from threadline.protocol import (
    Ack,
    ErrorFrame,
    FrameDecoder,
    FrameError,
    ReplyMessage,
    SendMessage,
    ServerFrame,
    Token,
)
from threadline.turns import TurnRunner

__all__ = ("ChatSession", "Send")

Send = Callable[[ServerFrame], Awaitable[None]]

logger = logging.getLogger(__name__)


class ChatSession:
    """Handles the frames of one socket of one user, in the order they arrive."""

    def __init__(
        self,
        user_id: str,
        *,
        decoder: FrameDecoder,
        index: ConversationIndex,
        runner: TurnRunner,
        send: Send,
    ) -> None:
        self.user_id = user_id
        self._decoder = decoder
        self._index = index
        self._runner = runner
        self._send = send

    async def on_text(self, data: str) -> None:
        """Handle one text frame from the client."""
        try:
            frame = self._decoder.decode(data)
        except FrameError as error:
            await self._reject(error)
            return
        await self._on_message(frame)

    async def on_bytes(self) -> None:
        """Handle a binary frame: the protocol is JSON text only."""
        await self._reject(
            FrameError("invalid_frame", "binary frames are not accepted; send JSON text")
        )

    async def _reject(self, error: FrameError, conversation_id: str | None = None) -> None:
        frame = ErrorFrame(
            error.code, error.detail, retryable=False, conversation_id=conversation_id
        )
        await self._send(frame)

    async def _on_message(self, frame: SendMessage) -> None:
        conversation_id = frame.conversation_ref
        try:
            if conversation_id is None:
                conversation_id = await self._index.create(self.user_id)
            elif not await self._index.owns(self.user_id, conversation_id):
                detail = "no conversation with this id exists for this user"
                await self._reject(FrameError("conversation_not_found", detail), conversation_id)
                return
            await self._run_turn(conversation_id, frame)
        except Exception as error:  # noqa: BLE001 - every failure must reach the client as a frame
            self._report(error, conversation_id)
            failure = classify(error)
            await self._send(
                ErrorFrame(failure.code, failure.detail, failure.retryable, conversation_id)
            )

    async def _run_turn(self, conversation_id: str, frame: SendMessage) -> None:
        message_id, reply_id = new_id(), new_id()
        await self._send(Ack(conversation_id, message_id, frame.client_message_id))
        started = time.perf_counter()

        async def on_delta(delta: str) -> None:
            await self._send(Token(conversation_id, reply_id, delta))

        reply = await self._runner.run(
            conversation_id, message_id, frame.message, reply_id, on_delta
        )
        await self._send(ReplyMessage(conversation_id, reply_id, reply.content, reply.model))
        logger.info(
            "turn.completed",
            extra={
                "user_id": self.user_id,
                "conversation_id": conversation_id,
                "model": reply.model,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    def _report(self, error: Exception, conversation_id: str | None) -> None:
        context = {"user_id": self.user_id, "conversation_id": conversation_id}
        logger.warning("turn.failed", exc_info=error, extra=context)
