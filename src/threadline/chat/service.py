"""The chat service: everything a client may ask of its conversations, ownership first.

Requests are checked (ownership, limits) and turned into turns, which then run on their
own (`turn`); the roster admits them, orders them per conversation and keeps them until
they end (`roster`). Refusals are `ChatError`s, which the edges translate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage

from threadline.chat.activity import Activity
from threadline.chat.answers import check_answer
from threadline.chat.assistants import ServedAssistants, ServedGraph
from threadline.chat.attachments import (
    AttachmentRequest,
    Attachments,
    attachments_of,
    with_documents,
)
from threadline.chat.branches import Fork, check_editable, current_path, switch_branch
from threadline.chat.choosing import (
    check_kept,
    check_model,
    check_unchanged,
    engine_of,
    resolved,
)
from threadline.chat.deletion import Deletion
from threadline.chat.errors import ConversationBusy, ConversationNotFound
from threadline.chat.events import History, ToolCallItem
from threadline.chat.feedback import Feedback
from threadline.chat.history import HistoryPage, read_page
from threadline.chat.inputs import check_same_text, check_storable
from threadline.chat.knowledge import Knowledge
from threadline.chat.limits import UserLimits
from threadline.chat.quota import Stake, given_back_unless_started
from threadline.chat.relay import Relay
from threadline.chat.rollback import roll_back
from threadline.chat.roster import Roster, TurnPolicy
from threadline.chat.shares import Shares
from threadline.chat.steps import approval_item, pending_events
from threadline.chat.thread_runs import ThreadRuns
from threadline.chat.threads import Threads, ThreadTaken
from threadline.chat.transfers import Transfers
from threadline.chat.turn import Answer, Send, Turn, TurnEngine, TurnServices
from threadline.chat.watching import Watching
from threadline.conversations.index import (
    Choice,
    ConversationIndex,
    ConversationSummary,
    Page,
    new_id,
)
from threadline.conversations.threads import ThreadCatalog
from threadline.engine.assistants import Assistant, Assistants
from threadline.llm.choices import ModelChoices
from threadline.storage.leases import ConversationLocks

__all__ = ("ChatService",)

logger = logging.getLogger(__name__)


class ChatService:
    """Conversations and their turns, for one user at a time."""

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
        # Reading a thread's messages and deleting it do not depend on its graph.
        self._runner = runner = assistants.default.runner
        self._leases = leases
        policy = policy or TurnPolicy()
        self.relay = relay or Relay()
        self._activity = Activity(index, title_model, self.relay)
        self._crew = TurnServices(
            index, runner, leases, self._activity, self.relay, policy.queue_when_busy, limits
        )
        self._roster = Roster(policy, limits)
        self._live = self._roster.live
        forget = None
        if knowledge is not None:
            knowledge.announce_through(self.relay)
            forget = knowledge.forget_conversation
        # Feedback, shares, export and import: kept in the store, beside the index.
        self.feedback = Feedback(self._crew, index.store, index.pool)
        self.shares = Shares(self._crew, index.store)
        self.transfers = Transfers(self._crew, self.feedback)
        kept = (self.feedback, self.shares)
        self._deletion = Deletion(self._crew, self._live, forget, kept)
        self._watching = Watching(self.relay, self._live, leases, runner)
        # The LangGraph API's view: the graphs served (by name), and conversations as threads.
        served = [ServedGraph(a.assistant_id, a.runner.graph) for a in assistants]
        self.assistants = ServedAssistants(graphs or served)
        self.threads = Threads(self._crew, catalog, self._roster.busy) if catalog else None
        live = self._live.of_conversation
        self.runs = ThreadRuns(self._crew, self.threads, live) if self.threads else None

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
        """
        check_storable(text)
        kept = await self._kept(user_id, conversation_id, create=create)
        if kept is not None and conversation_id is not None:
            if client_message_id and (
                earlier := self._live.find(conversation_id, client_message_id)
            ):
                check_same_text(earlier.text, text, client_message_id)
                await earlier.audience.attach(send)
                return earlier
            check_unchanged(resolved(kept, self._assistants), chosen)
            updated = _switched(kept, chosen)
        else:
            updated = resolved(chosen or Choice(), self._assistants)
        sees = self.models.takes_images(updated.model)
        attached = await attachments_of(attachments, user_id, self.knowledge, sees=sees)
        updated = with_documents(updated, attached)
        engine = engine_of(self._assistants, updated, self.models)
        stake = await self._roster.admit(user_id, text)
        with given_back_unless_started(stake):
            conversation_id = await self._opened(user_id, conversation_id, kept, updated)
            turn = self._turn(
                user_id,
                conversation_id,
                text,
                client_message_id,
                send,
                stake=stake,
                engine=engine,
                attachments=attached,
                client_tools=client_tools,
            )
            await self._roster.start(turn)
        return turn

    async def choose(self, user_id: str, conversation_id: str, chosen: Choice) -> None:
        """What a LangGraph thread's run asks for: kept by its first, the same for the rest.

        A thread made empty (the LangGraph API's `POST /threads`) chooses its assistant,
        `context` and `configurable` with its first run, as a WebSocket conversation does
        with its first message; every later run may name them again, but change nothing.

        Raises:
            ConversationNotFound, UnknownAssistant, InvalidContext, InvalidRequest.
        """
        kept = await self._own(user_id, conversation_id)
        if kept.assistant_id is None and kept.context is None and kept.configurable is None:
            named = resolved(chosen, self._assistants)
            engine_of(self._assistants, named)  # the context fits the graph
            if await self._index.choose(user_id, conversation_id, named):
                return
            kept = await self._own(user_id, conversation_id)
        check_kept(resolved(kept, self._assistants), chosen)

    async def roll_back(self, user_id: str, conversation_id: str, reply_id: str) -> bool:
        """Remove a stopped reply (and its turn's steps) from the thread; whether it went."""
        engine = engine_of(self._assistants, await self._own(user_id, conversation_id))
        return await roll_back(self._crew, engine.runner, user_id, conversation_id, reply_id)

    async def answer_tools(
        self,
        user_id: str,
        conversation_id: str,
        results: Sequence[ToolMessage],
        send: Send,
        client_tools: Sequence[dict[str, Any]] = (),
    ) -> Turn:
        """Store the results of the calls a turn left for the client's tools; answer on.

        Raises:
            ConversationNotFound: Not a conversation of this user.
            TooManyTurns, ConversationBusy, RateLimited, QuotaExceeded: Past a limit.
        """
        engine = engine_of(self._assistants, await self._own(user_id, conversation_id))
        stake = await self._roster.admit(user_id, None)
        with given_back_unless_started(stake):
            turn = self._turn(
                user_id,
                conversation_id,
                None,
                None,
                send,
                stake=stake,
                engine=engine,
                results=results,
                client_tools=client_tools,
            )
            await self._roster.start(turn)
        return turn

    async def _keep(
        self, user_id: str, conversation_id: str, kept: Choice, updated: Choice
    ) -> None:
        """What a later message changed of its conversation: its model, its documents."""
        if updated.documents != kept.documents:
            added = [d for d in updated.documents or () if d not in (kept.documents or ())]
            await self._index.attach_documents(user_id, conversation_id, added)
        if updated.model != kept.model and updated.model is not None:
            await self._set_model(user_id, conversation_id, updated.model)

    async def regenerate(self, user_id: str, conversation_id: str, send: Send) -> Turn:
        """Start a turn that answers the last user message again."""
        engine = engine_of(self._assistants, await self._own(user_id, conversation_id), self.models)
        stake = await self._roster.admit(user_id, None)
        with given_back_unless_started(stake):
            turn = self._turn(
                user_id, conversation_id, None, None, send, stake=stake, engine=engine
            )
            await self._roster.start(turn)
        return turn

    async def edit(
        self, user_id: str, conversation_id: str, message_id: str, text: str, send: Send
    ) -> Turn:
        """Answer `text` in place of user message `message_id`: a sibling branch of it.

        The turn forks from the checkpoint before that message (see `branches`); the
        earlier message and what followed it stay, as another branch.

        Raises:
            MessageNotFound: No user message with this id on the current path.
        """
        chosen = await self._own(user_id, conversation_id)
        runner = self._assistant_of(chosen).runner
        check_editable(current_path(await runner.tree(conversation_id)), message_id)
        fork = Fork(replaces=message_id)
        return await self._forked(user_id, conversation_id, text, send, fork=fork, chosen=chosen)

    async def fork(
        self, user_id: str, conversation_id: str, checkpoint_id: str, text: str, send: Send
    ) -> Turn:
        """Answer `text` added at an earlier checkpoint: a new branch from there.

        The primitive a run from a `checkpoint` (the LangGraph API) is: the branch's
        checkpoints are the latest from then on.
        """
        chosen = await self._own(user_id, conversation_id)
        fork = Fork(checkpoint_id=checkpoint_id)
        return await self._forked(user_id, conversation_id, text, send, fork=fork, chosen=chosen)

    async def _forked(  # noqa: PLR0913 - the turn's facts, each named
        self,
        user_id: str,
        conversation_id: str,
        text: str,
        send: Send,
        *,
        fork: Fork,
        chosen: Choice,
    ) -> Turn:
        check_storable(text)
        engine = engine_of(self._assistants, chosen)
        stake = await self._roster.admit(user_id, text)
        with given_back_unless_started(stake):
            turn = self._turn(
                user_id, conversation_id, text, None, send, stake=stake, engine=engine, fork=fork
            )
            await self._roster.start(turn)
        return turn

    async def switch_branch(self, user_id: str, conversation_id: str, message_id: str) -> None:
        """Make the branch holding `message_id` the current path; the next turn goes on it.

        Raises:
            MessageNotFound: No branch of the conversation holds the message.
            ConversationBusy: A turn of the conversation runs.
        """
        chosen = await self._own(user_id, conversation_id)
        if self._roster.busy(conversation_id):
            raise ConversationBusy
        runner = self._assistant_of(chosen).runner
        await switch_branch(self._crew, runner, user_id, conversation_id, message_id)

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
        turn = self._turn(
            user_id, conversation_id, None, None, send, decision=decision, engine=engine
        )
        await self._roster.start(turn)
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
        """The running reply's events after `after_seq` and the rest live, on any process.

        With no reply running, the latest stored reply as one `Replied` (without `seq`).

        Raises:
            NothingToResume: The conversation has no reply yet.
        """
        await self._own(user_id, conversation_id)
        return await self._watching.resume(user_id, conversation_id, after_seq, send)

    async def subscribe(self, user_id: str, conversation_id: str, send: Send) -> None:
        """Send every event of the conversation's turns to `send` from now on."""
        await self._own(user_id, conversation_id)
        self._watching.subscribe(conversation_id, send)

    async def unsubscribe(self, user_id: str, conversation_id: str, send: Send) -> None:
        """End a subscription (turns `send` asked for itself still reach it)."""
        await self._own(user_id, conversation_id)
        self._watching.unsubscribe(conversation_id, send)

    def busy(self, conversation_id: str) -> bool:
        """Whether a turn of the conversation is running or waiting in this process."""
        return self._roster.busy(conversation_id)

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
        decision: Answer | None = None,
        stake: Stake | None = None,
        engine: TurnEngine,
        attachments: Attachments | None = None,
        results: Sequence[ToolMessage] | None = None,
        client_tools: Sequence[dict[str, Any]] = (),
        fork: Fork | None = None,
    ) -> Turn:
        limits = self._crew.limits
        message_id = new_id() if text is not None else ((results[0].id or "") if results else "")
        return Turn(
            self._crew,
            user_id,
            conversation_id,
            text,
            message_id=message_id,
            reply_id=new_id(),
            client_message_id=client_id,
            origin=send,
            decision=decision,
            # An approval's turn was not admitted: its model calls reserve as they are made.
            stake=stake or (limits.stake(user_id) if limits is not None else None),
            engine=engine,
            attachments=attachments,
            results=results,
            client_tools=client_tools,
            fork=fork,
        )

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

    # Conversations ----------------------------------------------------------------------

    async def _kept(
        self, user_id: str, conversation_id: str | None, *, create: bool
    ) -> Choice | None:
        """What the conversation chose; None for one to make (no id, or a new one's id).

        Raises:
            ConversationNotFound: Not a conversation of this user, and not `create`.
        """
        if conversation_id is None:
            return None
        chosen = await self._index.choice_of(user_id, conversation_id)
        if chosen is None and not create:
            raise ConversationNotFound
        return chosen

    async def _opened(
        self, user_id: str, conversation_id: str | None, kept: Choice | None, updated: Choice
    ) -> str:
        """The turn's conversation, made if new (`kept` None), keeping what it now chose."""
        if kept is None:
            return await self._made(user_id, conversation_id, updated)
        assert conversation_id is not None  # noqa: S101 - kept only for an existing one
        if updated != kept:
            await self._keep(user_id, conversation_id, kept, updated)
        return conversation_id

    async def _made(self, user_id: str, conversation_id: str | None, choice: Choice) -> str:
        """A new conversation's id: the client's (if another user's, as a missing one)."""
        if conversation_id is None:
            conversation_id = await self._index.create(user_id, choice)
            await self._activity.created(user_id, conversation_id)
            return conversation_id
        assert self.threads is not None  # noqa: S101 - wired whenever an id is the client's
        try:
            await self.threads.create(user_id, conversation_id, {}, reuse=True, choice=choice)
        except ThreadTaken:
            raise ConversationNotFound from None
        return conversation_id

    async def _own(self, user_id: str, conversation_id: str) -> Choice:
        """What the user's conversation chose; raises ConversationNotFound if not theirs."""
        chosen = await self._index.choice_of(user_id, conversation_id)
        if chosen is None:
            raise ConversationNotFound
        return chosen

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
        chosen = await self._own(user_id, conversation_id)
        page = await self._page(conversation_id, limit, before=before, after=after)
        page = page._replace(
            items=await self.feedback.shown_on(user_id, conversation_id, page.items)
        )
        assistant = self._assistant_of(chosen)
        pending = await assistant.runner.pending_interrupts(conversation_id)
        approval = next((a for p in pending for a in p.approvals), None)
        return History(
            conversation_id,
            page.items,
            page.next_before,
            page.next_after,
            approval_item(approval),
            pending_events(conversation_id, pending),
        )

    async def pending_approval(self, user_id: str, conversation_id: str) -> ToolCallItem | None:
        """The tool call the user's conversation waits on their approval for, if any."""
        return await self._pending(await self._own(user_id, conversation_id), conversation_id)

    async def _pending(self, chosen: Choice, conversation_id: str) -> ToolCallItem | None:
        runner = self._assistant_of(chosen).runner
        return approval_item(await runner.pending_approval(conversation_id))

    def _assistant_of(self, chosen: Choice) -> Assistant:
        # Read with the conversation's graph; one no longer served has none to answer.
        return self._assistants.get(chosen.assistant_id) or self._assistants.default

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
        page = await self._page(conversation_id, limit, before=before, after=None)
        items = await self.feedback.shown_on(user_id, conversation_id, page.items)
        return summary, page._replace(items=items)

    async def rename(self, user_id: str, conversation_id: str, title: str) -> ConversationSummary:
        """Set the title the user chose; automatic titles never replace it."""
        summary = await self._index.set_title(user_id, conversation_id, title, "user")
        if summary is None:
            raise ConversationNotFound
        await self._activity.renamed(user_id, summary)
        return summary

    async def set_model(
        self, user_id: str, conversation_id: str, model: str
    ) -> ConversationSummary:
        """Have the conversation's next turns answer with `model` (a running one keeps its).

        Raises:
            UnknownModel: Not a model a user may pick.
            ConversationNotFound: Not a conversation of this user.
        """
        check_model(self.models, model)
        return await self._set_model(user_id, conversation_id, model)

    async def _set_model(
        self, user_id: str, conversation_id: str, model: str
    ) -> ConversationSummary:
        summary = await self._index.update_choice(user_id, conversation_id, {"model": model})
        if summary is None:
            raise ConversationNotFound
        await self._activity.model_changed(user_id, summary)
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


def _switched(kept: Choice, asked: Choice | None) -> Choice:
    """The conversation's choice with the model a later message names, if any."""
    if asked is None or asked.model is None:
        return kept
    return msgspec.structs.replace(kept, model=asked.model)
