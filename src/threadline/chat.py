"""The chat service: accepts requests for conversations and carries out their turns."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import NamedTuple

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, RemoveMessage

from threadline.activity import Activity
from threadline.conversations import ConversationIndex, new_id, now
from threadline.errors import classify
from threadline.graph import CREATED_AT
from threadline.lanes import Send, Turn, TurnManager
from threadline.locks import ConversationBusy, ConversationLocks
from threadline.protocol import (
    Ack,
    Context,
    ErrorFrame,
    FrameError,
    History,
    Queued,
    ReplyMessage,
    RequestHistory,
    SendMessage,
    ServerFrame,
    Token,
)
from threadline.transcript import (
    CLIENT_MESSAGE_ID,
    UnknownMessage,
    find_client_message,
    history_items,
    last_user_message,
    page_of,
)
from threadline.turns import Reply, TurnRunner, reply_of

__all__ = ("NOT_FOUND", "ChatService", "TurnPolicy")

logger = logging.getLogger(__name__)

NOT_FOUND = "no conversation with this id exists for this user"
_BUSY = "this conversation is still answering an earlier message"


class ChatService:
    """Everything a client can ask of a conversation, with ownership checked first."""

    def __init__(
        self,
        index: ConversationIndex,
        runner: TurnRunner,
        locks: ConversationLocks,
        *,
        title_model: BaseChatModel | None = None,
        policy: TurnPolicy | None = None,
    ) -> None:
        self.index = index
        self.runner = runner
        self._locks = locks
        self._limits = policy or TurnPolicy()
        self._queue_when_busy = self._limits.queue_when_busy
        self._activity = Activity(index, title_model)
        self.turns = TurnManager(self._execute)

    async def open(self, user_id: str, conversation_id: str | None) -> str:
        """The conversation to use: a new one for None, else `conversation_id` if owned.

        Raises:
            FrameError: `conversation_not_found`, also for another user's conversation.
        """
        if conversation_id is None:
            return await self.index.create(user_id)
        if not await self.index.owns(user_id, conversation_id):
            raise FrameError("conversation_not_found", NOT_FOUND)
        return conversation_id

    async def send_message(self, user_id: str, frame: SendMessage, send: Send) -> Turn:
        """Accept a user message: queue its turn, or attach to the turn of an identical resend.

        Raises:
            FrameError: `too_many_turns` or `conversation_busy` past a limit (nothing is
                stored), `invalid_frame` for a client id reused with other text.
        """
        client_id = frame.client_message_id
        conversation_id = frame.conversation_ref
        if conversation_id is not None:
            conversation_id = await self.open(user_id, conversation_id)
            if client_id and (earlier := self.turns.find(conversation_id, client_id)):
                _check_same_text(earlier.text, frame.message, client_id)
                await earlier.attach(send)
                return earlier
        self._check_user_limit(user_id)
        if conversation_id is None:
            conversation_id = await self.index.create(user_id)
        turn = Turn(user_id, conversation_id, new_id(), new_id(), frame.message, client_id, [send])
        await self._submit(turn, send)
        return turn

    async def regenerate(self, user_id: str, conversation_id: str, send: Send) -> Turn:
        """Queue a turn that answers the last user message again."""
        self._check_user_limit(user_id)
        conversation_id = await self.open(user_id, conversation_id)
        turn = Turn(user_id, conversation_id, "", new_id(), None, None, [send])
        await self._submit(turn, send)
        return turn

    async def stop(self, user_id: str, conversation_id: str, send: Send) -> Turn:
        """Stop the running turn; the stopping socket also gets the stopped reply.

        Raises:
            FrameError: `nothing_to_stop` when no turn of the conversation is running here.
        """
        conversation_id = await self.open(user_id, conversation_id)
        turn = self.turns.stop(conversation_id)
        if turn is None:
            raise FrameError("nothing_to_stop", "no reply is being generated in this conversation")
        if send not in turn.listeners:
            await turn.attach(send)
        return turn

    async def history(self, user_id: str, frame: RequestHistory) -> History:
        """A page of the conversation's messages, as `frame` asks (the newest by default).

        Raises:
            FrameError: `invalid_frame` when the message id it pages from is not there.
        """
        conversation_id = await self.open(user_id, frame.conversation_ref)
        items = history_items(await self.runner.transcript(conversation_id), self.runner.model_name)
        try:
            page = page_of(
                items,
                frame.limit,
                before=frame.before_message_id,
                after=frame.after_message_id,
            )
        except UnknownMessage:
            field = "after_message_id" if frame.after_message_id else "before_message_id"
            detail = f"{field} is not a message of this conversation"
            raise FrameError("invalid_frame", detail) from None
        return History(conversation_id, page.items, page.next_before, page.next_after)

    async def delete(self, user_id: str, conversation_id: str) -> None:
        """Delete the conversation: its live turn is stopped first, then the thread goes.

        Raises:
            FrameError: `conversation_not_found`.
        """
        await self.open(user_id, conversation_id)
        # Index entry first: from here on no server accepts a message for it.
        await self.index.delete(user_id, conversation_id)
        await self.turns.cancel(conversation_id, _abandon_deleted)
        # Under the lock, so a turn still running on another server finishes first; turns
        # queued elsewhere find the conversation gone when they get the lock.
        async with self._locks.hold(conversation_id):
            await self.runner.delete(conversation_id)
        logger.info("conversation.deleted", extra={"conversation_id": conversation_id})

    async def drain(self, grace: float) -> None:
        """At shutdown: let turns finish within `grace`, then stop them (saving partials)."""

        async def abandon(turn: Turn) -> None:
            detail = "the server is shutting down; send the message again"
            await turn.emit(ErrorFrame("storage_unavailable", detail, True, turn.conversation_id))

        await self.turns.drain(grace, abandon)
        await self._activity.drain(max(grace, 0.1))

    def _check_user_limit(self, user_id: str) -> None:
        if self.turns.of_user(user_id) >= self._limits.per_user:
            detail = (
                f"you have {self._limits.per_user} messages being answered or waiting; "
                "send this one again once some are answered"
            )
            raise FrameError("too_many_turns", detail, retryable=True)

    async def _submit(self, turn: Turn, send: Send) -> None:
        if not self._queue_when_busy and self.turns.busy(turn.conversation_id):
            raise FrameError("conversation_busy", _BUSY, retryable=True)
        if self.turns.waiting(turn.conversation_id) >= self._limits.queued_per_conversation:
            limit = self._limits.queued_per_conversation
            detail = f"{_BUSY}, and {limit} more messages already wait their turn"
            raise FrameError("conversation_busy", detail, retryable=True)
        turn.origin = send
        position = self.turns.submit(turn)
        if position:
            queued = Queued(turn.conversation_id, turn.message_id, position, turn.client_message_id)
            await send(queued)

    async def _execute(self, turn: Turn) -> list[ServerFrame]:
        """Run the turn under the conversation's lock; returns the frames to send last."""
        started = time.perf_counter()
        outcome: list[ServerFrame]
        try:
            async with self._locks.hold(turn.conversation_id, wait=self._queue_when_busy):
                if not await self.index.owns(turn.user_id, turn.conversation_id):
                    raise FrameError("conversation_not_found", NOT_FOUND)  # deleted meanwhile
                outcome = await self._answer(turn)
        except ConversationBusy:
            outcome = [ErrorFrame("conversation_busy", _BUSY, True, turn.conversation_id)]
        except FrameError as error:
            outcome = [ErrorFrame(error.code, error.detail, error.retryable, turn.conversation_id)]
        except Exception as error:
            failure = classify(error)
            logger.warning(
                "turn.failed",
                exc_info=failure.code == "internal_error",
                extra={"conversation_id": turn.conversation_id, "code": failure.code},
            )
            outcome = [ErrorFrame(*failure, turn.conversation_id)]
        # Before the outcome goes out, so a client that reacts to it finds its sidebar current.
        await self._activity.record(
            turn.user_id, turn.conversation_id, turn.messages, new_message=turn.text is not None
        )
        if isinstance(outcome[0], ReplyMessage):
            _log_reply(turn, outcome[0], started)
        return outcome

    async def _answer(self, turn: Turn) -> list[ServerFrame]:
        inputs = await self._inputs(turn)
        if isinstance(inputs, Reply):
            return _final_frames(turn.conversation_id, inputs)
        task = asyncio.create_task(
            self.runner.run(turn.conversation_id, inputs, turn.reply_id, _Progress(self, turn))
        )
        turn.run_task = task
        try:
            reply = await task
        except asyncio.CancelledError:
            if not turn.stop_requested:
                raise
            partial = "".join(turn.partial)
            stopped = await self.runner.save_stopped(turn.conversation_id, turn.reply_id, partial)
            turn.messages = [*turn.messages, stopped]
            reply = reply_of(stopped, self.runner.model_name)
        return _final_frames(turn.conversation_id, reply)

    async def _inputs(self, turn: Turn) -> Sequence[BaseMessage] | Reply:
        """What the graph gets for this turn, or the reply an earlier turn already gave."""
        if turn.text is None:
            return await self._regenerate_inputs(turn)
        if turn.client_message_id:
            # Under the lock, so a resend racing its original (even on another server) sees it.
            # The window holds every message since the last fold; a resend comes long before.
            messages = await self.runner.window(turn.conversation_id)
            found = find_client_message(messages, turn.client_message_id, self.runner.model_name)
            if found is not None:
                _check_same_text(str(found[1].text), turn.text, turn.client_message_id)
                return await self._replay(turn, found[1], found[2], found[0] == len(messages) - 1)
        extra = {CREATED_AT: now()}
        if turn.client_message_id:
            extra[CLIENT_MESSAGE_ID] = turn.client_message_id
        return [HumanMessage(content=turn.text, id=turn.message_id, additional_kwargs=extra)]

    async def _regenerate_inputs(self, turn: Turn) -> Sequence[BaseMessage]:
        messages = await self.runner.window(turn.conversation_id)
        question = last_user_message(messages)
        if question is None:
            raise FrameError("nothing_to_regenerate", "this conversation has no message to answer")
        turn.message_id = question.id or ""
        last = messages[-1]
        # Replace the last reply (stopped, or simply unwanted) instead of stacking another.
        return [RemoveMessage(id=last.id)] if isinstance(last, AIMessage) and last.id else []

    async def _replay(
        self, turn: Turn, stored: HumanMessage, reply: Reply | None, is_last: bool
    ) -> Sequence[BaseMessage] | Reply:
        turn.message_id = stored.id or turn.message_id
        await self.ack(turn)
        if reply is not None:
            return reply
        if is_last:
            return []  # stored, but its turn failed: answer it now, without a second copy
        detail = "this message was stored but its reply failed, and newer messages followed"
        raise FrameError("nothing_to_regenerate", detail)

    async def ack(self, turn: Turn) -> None:
        """Tell the turn's listeners, once, that its message is stored."""
        if not turn.accepted:
            turn.accepted = True
            await turn.emit(Ack(turn.conversation_id, turn.message_id, turn.client_message_id))


class TurnPolicy(NamedTuple):
    """What happens to a message for a busy conversation, and the limits on waiting turns."""

    queue_when_busy: bool = True
    queued_per_conversation: int = 8
    per_user: int = 32


def _check_same_text(earlier: str | None, text: str, client_message_id: str) -> None:
    if earlier is not None and earlier != text:
        detail = (
            f"client_message_id {client_message_id!r} was already used for a different "
            "message in this conversation; use a new id for a new message"
        )
        raise FrameError("invalid_frame", detail)


class _Progress:
    """Relays a running turn's progress to its listeners."""

    def __init__(self, chat: ChatService, turn: Turn) -> None:
        self._chat = chat
        self._turn = turn

    async def accepted(self) -> None:
        await self._chat.ack(self._turn)
        if self._turn.stop_requested:
            # Stopped while waiting: the message is stored now, so stop before any token.
            raise asyncio.CancelledError

    async def delta(self, text: str) -> None:
        self._turn.partial.append(text)
        await self._turn.emit(Token(self._turn.conversation_id, self._turn.reply_id, text))

    def state(self, messages: list[AnyMessage]) -> None:
        self._turn.messages = messages


async def _abandon_deleted(turn: Turn) -> None:
    await turn.emit(ErrorFrame("conversation_not_found", NOT_FOUND, False, turn.conversation_id))


def _final_frames(conversation_id: str, reply: Reply) -> list[ServerFrame]:
    """The reply, then (unless it was stopped) how much of the conversation the model saw."""
    frames: list[ServerFrame] = [
        ReplyMessage(
            conversation_id, reply.message_id, reply.content, reply.model, stopped=reply.stopped
        )
    ]
    if reply.context is not None:
        frames.append(Context(conversation_id, **reply.context))
    return frames


def _log_reply(turn: Turn, reply: ReplyMessage, started: float) -> None:
    logger.info(
        "turn.completed",
        extra={
            "conversation_id": turn.conversation_id,
            "model": reply.model,
            "stopped": reply.stopped,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
