"""One client's socket session: decodes frames and hands them to the chat service.

Transport-free: it receives text and a `send` coroutine, so the protocol logic does not
depend on Litestar. Turns run as their own tasks, so the socket keeps reading (a stop
must get through while a reply streams).
"""

from __future__ import annotations

from threadline.chat.events import Failed
from threadline.chat.service import ChatService
from threadline.chat.turns.failures import failed
from threadline.chat.turns.turn import Send, Turn
from threadline.chat.turns.turn_parts import Answer, Cancel, Decision, Response
from threadline.transport.protocol import (
    Approve,
    CancelInterrupt,
    ClientFrame,
    Deny,
    Edit,
    Feedback,
    FrameDecoder,
    FrameError,
    Regenerate,
    RequestHistory,
    Respond,
    Resume,
    SendMessage,
    SetModel,
    Stop,
    Subscribe,
    SwitchBranch,
    Unsubscribe,
)

__all__ = ("ChatSession",)

TurnFrame = (
    SendMessage | Regenerate | Edit | Stop | Resume | Approve | Deny | Respond | CancelInterrupt
)
RequestFrame = SwitchBranch | SetModel | Subscribe | Unsubscribe | Feedback | RequestHistory
_TURN_FRAMES = (
    SendMessage,
    Regenerate,
    Edit,
    Stop,
    Resume,
    Approve,
    Deny,
    Respond,
    CancelInterrupt,
)


class ChatSession:
    """Handles the frames of one socket of one user, in the order they arrive."""

    def __init__(
        self,
        user_id: str,
        *,
        decoder: FrameDecoder,
        chat: ChatService,
        send: Send,
        stop_on_close: bool = False,
    ) -> None:
        self.user_id = user_id
        self._decoder = decoder
        self._chat = chat
        self._send = send
        self._stop_on_close = stop_on_close
        self._turns: list[Turn] = []

    async def on_text(self, data: str) -> None:
        """Handle one text frame from the client."""
        try:
            frame = self._decoder.decode(data)
        except FrameError as error:
            await self._reject(error)
            return
        await self._dispatch(frame)

    async def on_bytes(self) -> None:
        """Handle a binary frame: the protocol is JSON text only."""
        await self._reject(
            FrameError("invalid_frame", "binary frames are not accepted; send JSON text")
        )

    def keep_turns(self) -> None:
        """Let this socket's turns run to the end when it closes, whatever ON_DISCONNECT says."""
        self._stop_on_close = False

    async def close(self) -> None:
        """The socket closed: stop sending to it, and withdraw its turns if so configured.

        Withdrawn, a running turn stops (its partial reply is stored) and a waiting one is
        dropped: its message was never acknowledged, so nothing the user was told is lost.
        """
        for turn in self._turns:
            turn.audience.detach(self._send)
            # Only a turn this socket asked for, and nobody else is watching: a turn another
            # socket started, or also listens to, is theirs to see through.
            if self._stop_on_close and turn.origin is self._send and not turn.audience.watched:
                await self._chat.withdraw(turn)
        self._turns.clear()

    async def _dispatch(self, frame: ClientFrame) -> None:
        try:
            if isinstance(frame, _TURN_FRAMES):
                self._track(await self._turn_of(frame))
            else:
                await self._request(frame)
        except Exception as error:  # noqa: BLE001 - every failure is answered with a frame
            await self._send(failed(error, frame.conversation_ref, "request.failed"))

    async def _turn_of(self, frame: TurnFrame) -> Turn | None:
        """Start, follow or stop a turn as `frame` asks; the turn, if it runs here."""
        user, ref = self.user_id, frame.conversation_ref
        match frame:
            case SendMessage():
                message, client_id = frame.message, frame.client_message_id
                return await self._chat.send_message(
                    user, message, ref, client_id, self._send, frame.chosen, frame.attached
                )
            case Regenerate():
                client_id = frame.client_message_id
                return await self._chat.regenerate(
                    user, frame.conversation_ref, self._send, client_id
                )
            case Edit():
                edited, client_id = frame.message_id, frame.client_message_id
                return await self._chat.edit(
                    user, frame.conversation_ref, edited, frame.message, self._send, client_id
                )
            case Stop():
                return await self._chat.watching.stop(user, frame.conversation_ref, self._send)
            case Resume():
                after = frame.after_seq
                return await self._chat.watching.resume(
                    user, frame.conversation_ref, after, self._send
                )
            case _:
                answer = _answer(frame)
                return await self._chat.decide(user, frame.conversation_ref, answer, self._send)

    async def _request(self, frame: RequestFrame) -> None:
        """Answer a frame that starts no turn (a change, a subscription, a page of history)."""
        user, ref = self.user_id, frame.conversation_ref
        match frame:
            case SwitchBranch():
                await self._chat.conversations.switch_branch(user, ref, frame.message_id)
                await self._send(await self._chat.conversations.history(user, ref, frame.limit))
            case SetModel():
                await self._chat.conversations.set_model(user, ref, frame.model)
            case Subscribe():
                await self._chat.watching.subscribe(user, ref, self._send)
            case Unsubscribe():
                await self._chat.watching.unsubscribe(user, ref, self._send)
            case Feedback():
                rating, comment = frame.rating, frame.comment or ""
                saved = await self._chat.feedback.give(user, ref, frame.message_id, rating, comment)
                await self._send(saved)
            case RequestHistory():
                before, after = frame.before_message_id, frame.after_message_id
                history = await self._chat.conversations.history(
                    user, ref, frame.limit, before=before, after=after
                )
                await self._send(history)

    def _track(self, turn: Turn | None) -> None:
        # Forget finished turns so a long-lived socket does not accumulate them.
        self._turns = [t for t in self._turns if t.audience.watched and not _finished(t)]
        if turn is not None:  # None: the turn runs on another process
            self._turns.append(turn)

    async def _reject(self, error: FrameError, conversation_id: str | None = None) -> None:
        await self._send(Failed(error.code, error.detail, error.retryable, conversation_id))


def _answer(frame: Approve | Deny | Respond | CancelInterrupt) -> Answer:
    """What an answering frame asks of the paused run."""
    if isinstance(frame, Respond):
        return Response(frame.interrupt_id, frame.value)
    if isinstance(frame, CancelInterrupt):
        return Cancel(frame.interrupt_id)
    args = frame.args if isinstance(frame, Approve) else None
    return Decision(frame.tool_call_id, approved=isinstance(frame, Approve), args=args)


def _finished(turn: Turn) -> bool:
    return turn.task is not None and turn.task.done()
