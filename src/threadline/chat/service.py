"""The chat service: everything a client may ask of its conversations, ownership first.

Requests are checked (ownership, the conversation's choice) and turned into turns
(`turns.starts`), which then run on their own (`turn`); the roster admits them, orders
them per conversation and keeps them until they end (`roster`). What a client asks of a
conversation that starts no turn is `conversations` (`features.conversations`).
Refusals are `ChatError`s, which the edges translate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage

from threadline.chat.fanout.relay import Relay
from threadline.chat.features.conversations import Conversations
from threadline.chat.features.deletion import Deletion
from threadline.chat.features.feedback import Feedback
from threadline.chat.features.shares import Shares
from threadline.chat.features.transfers import Transfers
from threadline.chat.langgraph_api.assistants import ServedAssistants, ServedGraph
from threadline.chat.langgraph_api.thread_runs import ThreadRuns
from threadline.chat.langgraph_api.threads import Threads
from threadline.chat.turns.activity import Activity
from threadline.chat.turns.answers import check_answer
from threadline.chat.turns.attachments import (
    AttachmentRequest,
    attachments_of,
    with_documents,
)
from threadline.chat.turns.branches import Fork, regenerated_id
from threadline.chat.turns.choosing import (
    check_unchanged,
    engine_of,
    resolved,
)
from threadline.chat.turns.inputs import check_edit, check_same_text, check_storable
from threadline.chat.turns.limits import UserLimits
from threadline.chat.turns.quota import given_back_unless_started
from threadline.chat.turns.registry import LiveTurns
from threadline.chat.turns.roster import Roster, TurnPolicy
from threadline.chat.turns.starts import Asked, TurnStarts
from threadline.chat.turns.turn import Answer, Send, Turn, TurnServices
from threadline.chat.turns.watching import Watching, requests_served
from threadline.clock import now
from threadline.conversations.index import (
    Choice,
    ConversationIndex,
)
from threadline.conversations.threads import ThreadCatalog
from threadline.engine.assistants import Assistants
from threadline.engine.messages import CREATED_AT
from threadline.knowledge.service import Knowledge
from threadline.llm.choices import ModelChoices
from threadline.storage.leases import ConversationLocks

__all__ = ("ChatService",)

logger = logging.getLogger(__name__)


class ChatService:
    """Turns of conversations, for one user at a time; `conversations` for the rest."""

    def __init__(  # noqa: PLR0913 - its collaborators, each named
        self,
        index: ConversationIndex,
        assistants: Assistants,
        leases: ConversationLocks,
        *,
        title_model: BaseChatModel | None = None,
        policy: TurnPolicy | None = None,
        limits: UserLimits | None = None,
        relay: Relay | None = None,
        live: LiveTurns | None = None,
        knowledge: Knowledge | None = None,
        catalog: ThreadCatalog | None = None,
        graphs: Sequence[ServedGraph] = (),
        models: ModelChoices | None = None,
    ) -> None:
        self._index = index
        # The models a conversation may pick (by default: its assistant's one model).
        self.models = models or ModelChoices.only(assistants.default.runner.model_name)
        self.knowledge = knowledge
        self._assistants = assistants
        runner = assistants.default.runner
        policy = policy or TurnPolicy()
        # The relay serves other processes' stops and resumes from `live`, this process's
        # turns: one built elsewhere (`fleet.joined`) comes with the `live` it serves from.
        live = live or LiveTurns()
        self.relay = relay or Relay(serve=requests_served(live))
        self._activity = Activity(index, title_model, self.relay)
        crew = TurnServices(
            index, runner, leases, self._activity, self.relay, policy.queue_when_busy, limits
        )
        self._roster = Roster(policy, limits, live)
        self._live = live
        self._starts = TurnStarts(crew, self._roster)
        forget = knowledge.forget_conversation if knowledge is not None else None
        # Feedback, shares, export and import: kept in the store, beside the index.
        self.feedback = Feedback(crew, index.store, index.pool)
        self.shares = Shares(crew, index.store)
        self.transfers = Transfers(crew, self.feedback)
        deletion = Deletion(crew, live, forget, (self.feedback, self.shares))
        self.threads = Threads(crew, catalog, self._roster.busy, assistants) if catalog else None
        self.conversations = Conversations(
            crew,
            assistants,
            models=self.models,
            feedback=self.feedback,
            deletion=deletion,
            busy=self._roster.busy,
            claim=self.threads.claim if self.threads else None,
        )
        self._own = self.conversations.own
        # Subscriptions, resumes and stops, here or through the lease holder.
        self.watching = Watching(self.relay, live, leases, runner, index)
        # The LangGraph API's view: the graphs served (by name), and conversations as threads.
        served = [ServedGraph(a.assistant_id, a.runner.graph) for a in assistants]
        self.assistants = ServedAssistants(graphs or served)
        runs_of = live.of_conversation
        self.runs = ThreadRuns(crew, self.threads, runs_of) if self.threads else None

    # Turns ------------------------------------------------------------------------------

    async def send_message(  # noqa: PLR0913, PLR0917 - the message's facts, each named
        self,
        user_id: str,
        text: str,
        conversation_id: str | None,
        client_message_id: str | None,
        send: Send,
        chosen: Choice | None = None,
        attachments: AttachmentRequest | None = None,
        client_tools: Sequence[dict[str, Any]] = (),
        *,
        create: bool = False,
    ) -> Turn:
        """Accept a user message: start its turn, or attach to the turn of an identical resend.

        `chosen` is what a first message asks for: its assistant, `context` and
        `configurable`; the conversation keeps it. Any message may name a `model`: the
        conversation answers with it from then on. `attachments`: images for the model,
        documents the conversation keeps as its knowledge. `client_tools`: tools the
        client offers the model for this turn (`CLIENT_TOOLS`). `create`: a
        `conversation_id` the user has no conversation under yet is the client's id for a
        new one, made when the turn is accepted (a refused first message leaves nothing).

        Raises:
            ConversationNotFound: Not a conversation of this user.
            UnknownAssistant, InvalidContext: `chosen` does not fit what is served.
            UnknownModel: `chosen` names a model a user may not pick.
            UnsupportedAttachment: An image the model cannot take, a document not the
                user's; nothing was stored.
            TooManyTurns, ConversationBusy, RateLimited, QuotaExceeded: Past a limit;
                nothing was stored.
            InvalidRequest: A client id reused with other text, a NUL in the text.
            ConversationExists: With `create`, the id is another user's (ids are global).
        """
        check_storable(text)
        kept = await self.conversations.kept(user_id, conversation_id, create=create)
        if kept is not None and conversation_id is not None:
            if (
                joined := await self._joined(conversation_id, client_message_id, text, send)
            ) is not None:
                return joined
            check_unchanged(resolved(kept, self._assistants), chosen)
            updated = _switched(kept, chosen)
        else:
            updated = resolved(chosen or Choice(), self._assistants)
        sees = self.models.takes_images(updated.model)
        attached = await attachments_of(attachments, user_id, self.knowledge, sees=sees)
        updated = with_documents(updated, attached)
        engine = engine_of(self._assistants, updated, self.models)
        asked = Asked(
            text=text, client_id=client_message_id, attachments=attached, client_tools=client_tools
        )
        stake = await self._roster.admit(user_id, text)
        with given_back_unless_started(stake):
            conversation_id = await self.conversations.opened(
                user_id, conversation_id, kept, updated
            )
            turn = self._starts.turn(user_id, conversation_id, send, engine, asked, stake)
            await self._roster.start(turn)
        return turn

    async def answer_tools(
        self,
        user_id: str,
        conversation_id: str,
        results: Sequence[ToolMessage],
        send: Send,
        client_tools: Sequence[dict[str, Any]] = (),
    ) -> Turn:
        """Store the results of the calls a turn left for the client's tools; answer on.

        Each result is stored with the time it came, as every message is.

        Raises:
            ConversationNotFound: Not a conversation of this user.
            TooManyTurns, ConversationBusy, RateLimited, QuotaExceeded: Past a limit.
        """
        chosen = await self._own(user_id, conversation_id)
        engine = engine_of(self._assistants, chosen, self.models)
        stamped = [_stamped(result) for result in results]
        asked = Asked(results=stamped, client_tools=client_tools)
        return await self._starts.admitted(user_id, conversation_id, send, engine, asked)

    async def regenerate(
        self, user_id: str, conversation_id: str, send: Send, client_message_id: str | None = None
    ) -> Turn:
        """Start a turn that answers the last user message again.

        Resent with the `client_message_id` of one already accepted, it attaches to that
        turn, or gets the reply it stored (its id is derived from the client's): no
        second new version.

        Raises:
            InvalidRequest: The client id is a running message's.
        """
        engine = engine_of(self._assistants, await self._own(user_id, conversation_id), self.models)
        # A running message's id, not a regenerate's: refused (its text is not empty).
        joined = await self._joined(conversation_id, client_message_id, "", send)
        if joined is not None:
            return joined
        derived = regenerated_id(conversation_id, client_message_id) if client_message_id else None
        asked = Asked(client_id=client_message_id, reply_id=derived)
        return await self._starts.admitted(user_id, conversation_id, send, engine, asked)

    async def edit(  # noqa: PLR0913, PLR0917 - the edit's facts, each named
        self,
        user_id: str,
        conversation_id: str,
        message_id: str,
        text: str,
        send: Send,
        client_message_id: str | None = None,
    ) -> Turn:
        """Answer `text` in place of user message `message_id`: a sibling branch of it.

        The turn forks from the checkpoint before that message (see `branches`); the
        earlier message and what followed it stay, as another branch. An edit resent with
        the `client_message_id` of one already accepted attaches to its turn, or is
        answered as stored (the turn then carries the stored ids): no second sibling.

        Raises:
            MessageNotFound: No user message with this id on the current path.
            InvalidRequest: A client id reused with other text, a NUL in the text.
        """
        check_storable(text)
        chosen = await self._own(user_id, conversation_id)
        if (
            joined := await self._joined(conversation_id, client_message_id, text, send)
        ) is not None:
            return joined
        runner = self.conversations.assistant_of(chosen).runner
        tree = await runner.tree(conversation_id)
        resent = check_edit(tree, message_id, text, client_message_id, runner.model_name)
        engine = engine_of(self._assistants, chosen, self.models)
        fork = Fork(replaces=message_id, resent=resent)
        asked = Asked(text=text, client_id=client_message_id, fork=fork)
        return await self._starts.admitted(user_id, conversation_id, send, engine, asked)

    async def fork(
        self, user_id: str, conversation_id: str, checkpoint_id: str, text: str, send: Send
    ) -> Turn:
        """Answer `text` added at an earlier checkpoint: a new branch from there.

        The primitive a run from a `checkpoint` (the LangGraph API) is: the branch's
        checkpoints are the latest from then on.
        """
        check_storable(text)
        chosen = await self._own(user_id, conversation_id)
        engine = engine_of(self._assistants, chosen, self.models)
        asked = Asked(text=text, fork=Fork(checkpoint_id=checkpoint_id))
        return await self._starts.admitted(user_id, conversation_id, send, engine, asked)

    async def decide(
        self,
        user_id: str,
        conversation_id: str,
        decision: Answer,
        send: Send,
    ) -> Turn:
        """Answer what the conversation's run waits for; the run then goes on (or ends).

        An approve or deny of a tool call, a respond to an interrupt, or a cancel of them.

        Raises:
            NothingToApprove: Nothing of the conversation waits under that id.
            InvalidRequest: A decision the interrupt does not accept (an edit not allowed).
        """
        engine = engine_of(self._assistants, await self._own(user_id, conversation_id), self.models)
        check_answer(await engine.runner.pending_interrupts(conversation_id), decision)
        asked = Asked(decision=decision)
        return await self._starts.answered(user_id, conversation_id, send, engine, asked)

    async def _joined(
        self, conversation_id: str, client_id: str | None, text: str, send: Send
    ) -> Turn | None:
        """The running turn a resend (the same client id) attaches `send` to, if one runs.

        Raises:
            InvalidRequest: The client id is a running message's with other text.
        """
        if not client_id or (earlier := self._live.find(conversation_id, client_id)) is None:
            return None
        check_same_text(earlier.text, text, client_id)
        await earlier.audience.attach(send)
        return earlier

    def busy(self, conversation_id: str) -> bool:
        """Whether a turn of the conversation is running or waiting in this process."""
        return self._roster.busy(conversation_id)

    async def withdraw(self, turn: Turn) -> None:
        """Give up a turn nobody watches: dropped while it waits, stopped while it runs."""
        await turn.withdraw()

    # The drain ---------------------------------------------------------------------------

    @property
    def draining(self) -> bool:
        """Whether the server drains before a restart: it refuses new turns and sockets."""
        return self._roster.draining

    def begin_drain(self) -> None:
        """Refuse new turns and sockets from now on (safe to call from a signal handler)."""
        self._roster.draining = True

    async def settle(self, grace: float) -> None:
        """Refuse new turns, and wait up to `grace` seconds for the live ones to end."""
        await self._roster.settle(grace)

    async def drain(self, grace: float) -> None:
        """At shutdown: let turns finish within `grace`, then stop them (saving partials)."""
        await self._roster.drain(grace, self._activity)


def _stamped(result: ToolMessage) -> ToolMessage:
    """A client tool's result with the time it came (kept if it has one)."""
    stamp = {CREATED_AT: now(), **result.additional_kwargs}
    return result.model_copy(update={"additional_kwargs": stamp})


def _switched(kept: Choice, asked: Choice | None) -> Choice:
    """The conversation's choice with the model a later message names, if any."""
    if asked is None or asked.model is None:
        return kept
    return msgspec.structs.replace(kept, model=asked.model)
