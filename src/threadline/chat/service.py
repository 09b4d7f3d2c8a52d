"""The chat service: everything a client may ask of its conversations, ownership first.

Requests are checked (ownership, limits) and turned into turns, which then run on their
own (`turn`); the service keeps count of them (`registry`) and orders them per
conversation (`lanes`). Refusals are `ChatError`s, which the edges translate.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NamedTuple

from langchain_core.language_models import BaseChatModel

from threadline.chat.activity import Activity
from threadline.chat.deletion import Deletion
from threadline.chat.errors import (
    ConversationBusy,
    ConversationNotFound,
    NothingToApprove,
    ShuttingDown,
    TooManyTurns,
)
from threadline.chat.events import ConversationEvent, ErrorFrame, History, ToolCallItem
from threadline.chat.history import HistoryPage, read_page
from threadline.chat.inputs import check_same_text
from threadline.chat.lanes import Lanes
from threadline.chat.limits import UserLimits
from threadline.chat.registry import LiveTurns
from threadline.chat.relay import Relay
from threadline.chat.steps import approval_item
from threadline.chat.turn import Decision, Send, Turn, TurnServices
from threadline.chat.watching import Watching
from threadline.conversations.index import ConversationIndex, ConversationSummary, Page, new_id
from threadline.engine.runner import TurnRunner
from threadline.storage.leases import ConversationLocks

__all__ = ("ChatService", "TurnPolicy")

logger = logging.getLogger(__name__)


class TurnPolicy(NamedTuple):
    """What happens to a message for a busy conversation, and the limits on waiting turns."""

    queue_when_busy: bool = True
    queued_per_conversation: int = 8
    per_user: int = 32


class ChatService:
    """Conversations and their turns, for one user at a time."""

    def __init__(  # noqa: PLR0913 - its collaborators, each named
        self,
        index: ConversationIndex,
        runner: TurnRunner,
        leases: ConversationLocks,
        *,
        title_model: BaseChatModel | None = None,
        policy: TurnPolicy | None = None,
        limits: UserLimits | None = None,
        relay: Relay | None = None,
    ) -> None:
        self._index = index
        self._runner = runner
        self._leases = leases
        self._policy = policy or TurnPolicy()
        self._limits = limits
        self.relay = relay or Relay()
        self._activity = Activity(index, title_model, self.relay)
        self._crew = TurnServices(
            index,
            runner,
            leases,
            self._activity,
            self.relay,
            self._policy.queue_when_busy,
            limits,
        )
        self._lanes = Lanes()
        self._live = LiveTurns()
        self._deletion = Deletion(self._crew, self._live)
        self._watching = Watching(self.relay, self._live, leases, runner)
        self.draining = False
        self._settled = False

    # Turns ------------------------------------------------------------------------------

    async def send_message(
        self,
        user_id: str,
        text: str,
        conversation_id: str | None,
        client_message_id: str | None,
        send: Send,
    ) -> Turn:
        """Accept a user message: start its turn, or attach to the turn of an identical resend.

        Raises:
            ConversationNotFound: Not a conversation of this user.
            TooManyTurns, ConversationBusy, RateLimited, QuotaExceeded: Past a limit;
                nothing was stored.
            InvalidRequest: A client id reused with other text.
        """
        if conversation_id is not None:
            await self._own(user_id, conversation_id)
            if client_message_id and (
                earlier := self._live.find(conversation_id, client_message_id)
            ):
                check_same_text(earlier.text, text, client_message_id)
                await earlier.attach(send)
                return earlier
        await self._admit(user_id)
        if conversation_id is None:
            conversation_id = await self._index.create(user_id)
            await self._activity.created(user_id, conversation_id)
        turn = self._turn(user_id, conversation_id, text, client_message_id, send)
        await self._start(turn)
        return turn

    async def regenerate(self, user_id: str, conversation_id: str, send: Send) -> Turn:
        """Start a turn that answers the last user message again."""
        await self._own(user_id, conversation_id)
        await self._admit(user_id)
        turn = self._turn(user_id, conversation_id, None, None, send)
        await self._start(turn)
        return turn

    async def decide(
        self,
        user_id: str,
        conversation_id: str,
        decision: Decision,
        send: Send,
    ) -> Turn:
        """Approve or deny the tool call the conversation waits on; the run then goes on.

        Raises:
            NothingToApprove: No call of the conversation waits under that id.
        """
        await self._own(user_id, conversation_id)
        pending = await self._runner.pending_approval(conversation_id)
        if pending is None or pending.tool_call_id != decision.tool_call_id:
            raise NothingToApprove
        turn = self._turn(user_id, conversation_id, None, None, send, decision=decision)
        await self._start(turn)
        return turn

    async def stop(self, user_id: str, conversation_id: str, send: Send) -> Turn | None:
        """Stop the running turn, on any process; the stopping socket gets the stopped reply.

        Returns:
            The turn when it runs on this process.

        Raises:
            NothingToStop: No turn of the conversation is running anywhere.
        """
        await self._own(user_id, conversation_id)
        return await self._watching.stop(user_id, conversation_id, send)

    async def resume(
        self, user_id: str, conversation_id: str, after_seq: int, send: Send
    ) -> Turn | None:
        """The running reply's frames after `after_seq` and the rest live, on any process.

        With no reply running, the latest stored reply as one `message` frame.

        Raises:
            NothingToResume: The conversation has no reply yet.
        """
        await self._own(user_id, conversation_id)
        return await self._watching.resume(user_id, conversation_id, after_seq, send)

    async def subscribe(self, user_id: str, conversation_id: str, send: Send) -> None:
        """Send every frame of the conversation's turns to `send` from now on."""
        await self._own(user_id, conversation_id)
        self._watching.subscribe(conversation_id, send)

    async def unsubscribe(self, user_id: str, conversation_id: str, send: Send) -> None:
        """End a subscription (turns `send` asked for itself still reach it)."""
        await self._own(user_id, conversation_id)
        self._watching.unsubscribe(conversation_id, send)

    def busy(self, conversation_id: str) -> bool:
        """Whether a turn of the conversation is running or waiting in this process."""
        return self._lanes.busy(conversation_id)

    async def withdraw(self, turn: Turn) -> None:
        """Give up a turn nobody watches: dropped while it waits, stopped while it runs."""
        await turn.withdraw()

    def _turn(  # noqa: PLR0913 - the request's facts, each named
        self,
        user_id: str,
        conversation_id: str,
        text: str | None,
        client_id: str | None,
        send: Send,
        *,
        decision: Decision | None = None,
    ) -> Turn:
        return Turn(
            self._crew,
            user_id,
            conversation_id,
            text,
            message_id=new_id() if text is not None else "",
            reply_id=new_id(),
            client_message_id=client_id,
            origin=send,
            decision=decision,
        )

    async def _admit(self, user_id: str) -> None:
        """Refuse a turn past the user's limits: this server's first, then the shared ones."""
        if self.draining:
            raise ShuttingDown
        limit = self._policy.per_user
        if self._live.of_user(user_id) >= limit:
            raise TooManyTurns(
                f"you have {limit} messages being answered or waiting; "
                "send this one again once some are answered"
            )
        if self._limits is not None:
            await self._limits.admit(user_id)

    async def _start(self, turn: Turn) -> None:
        conversation_id = turn.conversation_id
        if not self._policy.queue_when_busy and self._lanes.busy(conversation_id):
            raise ConversationBusy
        limit = self._policy.queued_per_conversation
        if self._lanes.waiting(conversation_id) >= limit:
            waiting = f"and {limit} more messages already wait their turn"
            raise ConversationBusy(f"{ConversationBusy.default_detail}, {waiting}")
        place, ahead = self._lanes.join(conversation_id)
        self._live.add(turn)
        await turn.start(place, ahead)
        assert turn.task is not None  # noqa: S101 - set by start()
        turn.task.add_done_callback(lambda task: self._ended(turn, task))

    def _ended(self, turn: Turn, task: asyncio.Task[None]) -> None:
        self._live.discard(turn)
        if not task.cancelled() and (error := task.exception()) is not None:
            # The turn reports its own failures to its listeners; this is a last resort.
            logger.error(
                "turn.crashed", exc_info=error, extra={"conversation_id": turn.conversation_id}
            )

    async def settle(self, grace: float) -> None:
        """Refuse new turns, and wait up to `grace` seconds for the live ones to end."""
        self.draining = True
        tasks = [turn.task for turn in self._live.all() if turn.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        self._settled = True

    async def drain(self, grace: float) -> None:
        """At shutdown: let turns finish within `grace`, then stop them (saving partials).

        After `settle` the turns already had their grace: those left are stopped at once.
        """
        if self._settled:
            grace = 0.0
        tasks = [turn.task for turn in self._live.all() if turn.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            shutting_down = "the server is shutting down; send the message again"
            for turn in self._live.all():
                error = ErrorFrame("storage_unavailable", shutting_down, True, turn.conversation_id)
                await turn.withdraw(error)
            await asyncio.gather(*pending, return_exceptions=True)
        await self._activity.drain(max(grace, 0.1))

    # Conversations ----------------------------------------------------------------------

    async def _own(self, user_id: str, conversation_id: str) -> None:
        if not await self._index.owns(user_id, conversation_id):
            raise ConversationNotFound

    async def history(
        self,
        user_id: str,
        conversation_id: str,
        limit: int,
        *,
        before: str | None = None,
        after: str | None = None,
    ) -> History:
        """A page of the conversation's messages (the newest `limit` by default).

        Raises:
            InvalidRequest: The message id it pages from is not in the conversation.
        """
        await self._own(user_id, conversation_id)
        page = await self._page(conversation_id, limit, before=before, after=after)
        pending = await self.pending_approval(conversation_id)
        return History(conversation_id, page.items, page.next_before, page.next_after, pending)

    async def pending_approval(self, conversation_id: str) -> ToolCallItem | None:
        """The tool call the conversation waits on the user's approval for, if any."""
        return approval_item(await self._runner.pending_approval(conversation_id))

    async def _page(
        self, conversation_id: str, limit: int, *, before: str | None, after: str | None
    ) -> HistoryPage:
        return await read_page(self._runner, conversation_id, limit, before=before, after=after)

    async def conversations(self, user_id: str, limit: int, cursor: str | None) -> Page:
        """A page of the user's conversations, newest activity first."""
        return await self._index.list(user_id, limit, cursor)

    async def conversation(
        self, user_id: str, conversation_id: str, limit: int, before: str | None
    ) -> tuple[ConversationSummary, HistoryPage]:
        """A conversation's summary and a page of its messages (the newest by default)."""
        summary = await self._index.get(user_id, conversation_id)
        if summary is None:
            raise ConversationNotFound
        return summary, await self._page(conversation_id, limit, before=before, after=None)

    async def rename(self, user_id: str, conversation_id: str, title: str) -> ConversationSummary:
        """Set the title the user chose; automatic titles never replace it."""
        summary = await self._index.set_title(user_id, conversation_id, title, "user")
        if summary is None:
            raise ConversationNotFound
        event = ConversationEvent(conversation_id, "renamed", summary.updated_at, title)
        await self._activity.tell(user_id, event)
        return summary

    async def delete(self, user_id: str, conversation_id: str) -> None:
        """Delete the conversation: its live turns are stopped first, then the thread goes.

        Raises:
            ConversationNotFound: Not a conversation of this user.
        """
        await self._deletion.delete(user_id, conversation_id)

    async def erase_user(self, user_id: str) -> int:
        """Delete every conversation of `user_id`, and their usage; returns how many went."""
        return await self._deletion.erase_user(user_id)

    async def delete_idle(self, seconds: float) -> int:
        """Delete every conversation idle for `seconds` or more; returns how many went."""
        return await self._deletion.delete_idle(seconds)
