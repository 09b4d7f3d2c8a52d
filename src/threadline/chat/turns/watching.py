"""Following a conversation's turns from any socket, whichever process runs them.

Subscribing, resuming a reply after a reload, and stopping a turn: here when the turn runs
on this process, else through the process that holds the conversation's lease (the relay
carries the request there, and that process's answer back).
"""

from __future__ import annotations

from threadline.chat.errors import NothingToResume, NothingToStop
from threadline.chat.events import Replied, Send
from threadline.chat.fanout.bulletins import ResumeRequest, StopRequest
from threadline.chat.fanout.relay import Answer, Relay, RequestHandler
from threadline.chat.fanout.requests import OnMissed
from threadline.chat.turns.choosing import owned
from threadline.chat.turns.failures import failed
from threadline.chat.turns.history import last_reply
from threadline.chat.turns.registry import LiveTurns
from threadline.chat.turns.steps import replied
from threadline.chat.turns.turn import Turn
from threadline.conversations.index import ConversationIndex
from threadline.engine.replies import reply_of
from threadline.engine.runner import TurnRunner
from threadline.storage.leases import ConversationLocks

__all__ = ("Watching", "requests_served")


class Watching:
    """Subscriptions, resumes and stops for sockets of this process, ownership first."""

    def __init__(
        self,
        relay: Relay,
        live: LiveTurns,
        leases: ConversationLocks,
        runner: TurnRunner,
        index: ConversationIndex,
    ) -> None:
        self._index = index
        self._relay = relay
        self._live = live
        self._leases = leases
        self._runner = runner

    async def subscribe(self, user_id: str, conversation_id: str, send: Send) -> None:
        """Every event of the conversation's turns, from now on, goes to `send` as well."""
        await owned(self._index, user_id, conversation_id)
        self._relay.subscribe(conversation_id, send)

    async def unsubscribe(self, user_id: str, conversation_id: str, send: Send) -> None:
        """No more of the conversation's events, except those of turns `send` asked for."""
        await owned(self._index, user_id, conversation_id)
        self._relay.unsubscribe(conversation_id, send)

    async def stop(self, user_id: str, conversation_id: str, send: Send) -> Turn | None:
        """Stop the running turn, on any process; the stopping socket gets the stopped reply.

        Returns:
            The turn if it runs here; None if another process was asked to stop it.

        Raises:
            ConversationNotFound: Not a conversation of this user.
            NothingToStop: No turn of the conversation is running anywhere.
        """
        await owned(self._index, user_id, conversation_id)
        turn = self._live.current(conversation_id)
        if turn is not None:
            await _stop(turn, send)
            return turn
        process = await self._elsewhere(conversation_id)
        if process is None:
            raise NothingToStop
        follows = self._relay.follows(conversation_id, send)
        request = StopRequest(
            user_id, conversation_id, process, self._relay.new_request(), follows=follows
        )
        self._relay.requests.ask(
            request, send, lambda: _tell(send, NothingToStop(), conversation_id)
        )
        return None

    async def resume(
        self, user_id: str, conversation_id: str, after_seq: int, send: Send
    ) -> Turn | None:
        """The running reply's events after `after_seq`, then the rest as they come.

        With no reply running anywhere, the latest stored reply as one `Replied` (without `seq`).

        Raises:
            ConversationNotFound: Not a conversation of this user.
            NothingToResume: The conversation has no reply yet.
        """
        await owned(self._index, user_id, conversation_id)
        turn = self._live.current(conversation_id)
        if turn is not None:
            await turn.audience.attach(send, after_seq)
            return turn
        process = await self._elsewhere(conversation_id)
        if process is None:
            await send(await self._latest_reply(conversation_id))
            return None
        request = ResumeRequest(
            user_id, conversation_id, after_seq, process, self._relay.new_request()
        )
        self._relay.requests.ask(request, send, self._from_storage(conversation_id, send))
        return None

    async def _elsewhere(self, conversation_id: str) -> str | None:
        """The other process whose turn holds the conversation's lease, if one does."""
        process = await self._leases.holder_of(conversation_id)
        return process if process != self._relay.process_id else None

    async def _latest_reply(self, conversation_id: str) -> Replied:
        """The stored reply as a resent message gets it: whole, so without `seq`."""
        latest = last_reply(await self._runner.transcript(conversation_id))
        if latest is None:
            raise NothingToResume
        return replied(conversation_id, reply_of(latest, self._runner.model_name))

    def _from_storage(self, conversation_id: str, send: Send) -> OnMissed:
        async def resume_from_storage() -> None:
            try:
                await send(await self._latest_reply(conversation_id))
            except Exception as error:  # noqa: BLE001 - told to the socket, as any failure
                await send(failed(error, conversation_id, "request.failed"))

        return resume_from_storage


def requests_served(live: LiveTurns) -> RequestHandler:
    """What serves a stop or resume asked from another process: the relay's `serve`."""

    async def serve(request: StopRequest | ResumeRequest, answer: Answer) -> bool:
        """A stop or resume from another process, for a turn that may run here."""
        turn = live.current(request.conversation_id)
        if turn is None or turn.user_id != request.user_id:
            return False
        if isinstance(request, StopRequest) and request.follows:
            turn.stop()  # the asking socket follows the turn already
        elif isinstance(request, StopRequest):
            await _stop(turn, answer(turn.reply_id))
        else:
            await turn.audience.attach(answer(turn.reply_id), request.after_seq)
        return True

    return serve


async def _stop(turn: Turn, send: Send) -> None:
    """Stop `turn`; `send` gets the stopped reply (and the turn's events it has not had).

    A socket whose subscription brought the reply from its start goes on from there
    (`Turn.attach`); one that subscribed while it ran gets it from its start.
    """
    turn.stop()
    if not turn.audience.listens(send):
        await turn.audience.attach(send)


async def _tell(send: Send, error: Exception, conversation_id: str) -> None:
    await send(failed(error, conversation_id, "request.failed"))
