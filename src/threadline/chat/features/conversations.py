"""A user's conversations beside their turns: listed, read, renamed, switched, deleted.

Ownership first: another user's conversation looks exactly like a missing one. The chat
service starts turns; what a client asks of a conversation that starts none is here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from threadline.chat.errors import ConversationBusy, ConversationExists, ConversationNotFound
from threadline.chat.events import History, ToolCallItem
from threadline.chat.features.deletion import Deletion
from threadline.chat.features.feedback import Feedback
from threadline.chat.features.rollback import roll_back
from threadline.chat.turns.branches import switch_branch
from threadline.chat.turns.choosing import check_kept, check_model, engine_of, owned, resolved
from threadline.chat.turns.history import HistoryPage, read_page
from threadline.chat.turns.steps import approval_item, pending_events
from threadline.chat.turns.turn_parts import TurnServices
from threadline.conversations.index import Choice, ConversationSummary, Page
from threadline.engine.assistants import Assistant, Assistants
from threadline.llm.choices import ModelChoices

__all__ = ("Conversations",)


class Conversations:
    """The conversations of one user at a time, and what a client may do to them."""

    def __init__(  # noqa: PLR0913 - its collaborators, each named
        self,
        crew: TurnServices,
        assistants: Assistants,
        *,
        models: ModelChoices,
        feedback: Feedback,
        deletion: Deletion,
        busy: Callable[[str], bool],
        claim: Callable[..., Awaitable[None]] | None = None,
    ) -> None:
        self._crew = crew
        self._index = crew.index
        self._assistants = assistants
        # Reading a thread's messages and deleting it do not depend on its graph.
        self._runner = assistants.default.runner
        self._models = models
        self._feedback = feedback
        self._deletion = deletion
        self._busy = busy
        # Makes a conversation under a client's id (`Threads.claim`), when threads are served.
        self._claim = claim

    async def own(self, user_id: str, conversation_id: str) -> Choice:
        """What the user's conversation chose; raises ConversationNotFound if not theirs."""
        return await owned(self._index, user_id, conversation_id)

    async def choose(self, user_id: str, conversation_id: str, chosen: Choice) -> None:
        """What a LangGraph thread's run asks for: kept by its first, the same for the rest.

        A thread made empty (the LangGraph API's `POST /threads`) chooses its assistant,
        `context` and `configurable` with its first run, as a WebSocket conversation does
        with its first message; every later run may name them again, but change nothing.

        Raises:
            ConversationNotFound, UnknownAssistant, InvalidContext, InvalidRequest.
        """
        kept = await self.own(user_id, conversation_id)
        if kept.assistant_id is None and kept.context is None and kept.configurable is None:
            named = resolved(chosen, self._assistants)
            engine_of(self._assistants, named)  # the context fits the graph
            if await self._index.choose(user_id, conversation_id, named):
                return
            kept = await self.own(user_id, conversation_id)
        check_kept(resolved(kept, self._assistants), chosen)

    def assistant_of(self, chosen: Choice) -> Assistant:
        """The conversation's graph; one no longer served has none to answer: the default."""
        return self._assistants.get(chosen.assistant_id) or self._assistants.default

    async def history(  # noqa: PLR0913 - the page's terms and what it leaves out, each named
        self,
        user_id: str,
        conversation_id: str,
        limit: int,
        *,
        before: str | None = None,
        after: str | None = None,
        feedback: bool = True,
        interrupts: bool = True,
    ) -> History:
        """A page of the conversation's messages (the newest `limit` by default).

        `feedback=False` leaves out the user's ratings, `interrupts=False` what the run
        waits for: each is a read of its own, skipped by an edge that shows neither.

        Raises:
            InvalidRequest: The message id it pages from is not in the conversation.
        """
        chosen = await self.own(user_id, conversation_id)
        page = await self._messages(conversation_id, limit, before=before, after=after)
        if feedback:
            rated = await self._feedback.shown_on(user_id, conversation_id, page.items)
            page = page._replace(items=rated)
        if not interrupts:
            return History(conversation_id, page.items, page.next_before, page.next_after)
        assistant = self.assistant_of(chosen)
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
        runner = self.assistant_of(await self.own(user_id, conversation_id)).runner
        return approval_item(await runner.pending_approval(conversation_id))

    async def _messages(
        self, conversation_id: str, limit: int, *, before: str | None, after: str | None
    ) -> HistoryPage:
        return await read_page(self._runner, conversation_id, limit, before=before, after=after)

    async def page(self, user_id: str, limit: int, cursor: str | None) -> Page:
        """A page of the user's conversations, newest activity first."""
        return await self._index.list(user_id, limit, cursor)

    async def conversation(
        self, user_id: str, conversation_id: str, limit: int, before: str | None
    ) -> tuple[ConversationSummary, HistoryPage]:
        """A conversation's summary and a page of its messages (the newest by default)."""
        summary = await self._index.get(user_id, conversation_id)
        if summary is None:
            raise ConversationNotFound
        page = await self._messages(conversation_id, limit, before=before, after=None)
        items = await self._feedback.shown_on(user_id, conversation_id, page.items)
        return summary, page._replace(items=items)

    async def rename(self, user_id: str, conversation_id: str, title: str) -> ConversationSummary:
        """Set the title the user chose; automatic titles never replace it."""
        summary = await self._index.set_title(user_id, conversation_id, title, "user")
        if summary is None:
            raise ConversationNotFound
        await self._crew.activity.renamed(user_id, summary)
        return summary

    async def set_model(
        self, user_id: str, conversation_id: str, model: str
    ) -> ConversationSummary:
        """Have the conversation's next turns answer with `model` (a running one keeps its).

        Raises:
            UnknownModel: Not a model a user may pick.
            ConversationNotFound: Not a conversation of this user.
        """
        check_model(self._models, model)
        return await self.model_changed(user_id, conversation_id, model)

    async def model_changed(
        self, user_id: str, conversation_id: str, model: str
    ) -> ConversationSummary:
        """Keep `model` (checked already) as the conversation's, and tell the sidebar."""
        summary = await self._index.update_choice(user_id, conversation_id, {"model": model})
        if summary is None:
            raise ConversationNotFound
        await self._crew.activity.model_changed(user_id, summary)
        return summary

    async def kept(
        self, user_id: str, conversation_id: str | None, *, create: bool
    ) -> Choice | None:
        """What the conversation chose; None for one to make (no id, or a new one's id).

        Raises:
            ConversationNotFound: Not a conversation of this user, and not `create`.
            ConversationExists: With `create`, the id is another user's: refused before any
                limit is checked (the claim at acceptance still guards a race).
        """
        if conversation_id is None:
            return None
        chosen = await self._index.choice_of(user_id, conversation_id)
        if chosen is None and not create:
            raise ConversationNotFound
        if chosen is None and await self._index.held(conversation_id):
            raise ConversationExists
        return chosen

    async def opened(
        self, user_id: str, conversation_id: str | None, kept: Choice | None, updated: Choice
    ) -> str:
        """A turn's conversation, made if new (`kept` None), keeping what it now chose.

        Raises:
            ConversationExists: The client's id for it is another user's (ids are global).
        """
        if conversation_id is None:  # no id: a new conversation (`kept` is None)
            conversation_id = await self._index.create(user_id, updated)
            await self._crew.activity.created(user_id, conversation_id)
        elif kept is None:
            assert self._claim is not None  # noqa: S101 - wired whenever an id is the client's
            await self._claim(user_id, conversation_id, choice=updated)
        elif updated != kept:
            await self.keep(user_id, conversation_id, kept, updated)
        return conversation_id

    async def keep(self, user_id: str, conversation_id: str, kept: Choice, updated: Choice) -> None:
        """What a later message changed of its conversation: its model, its documents."""
        if updated.documents != kept.documents:
            added = [d for d in updated.documents or () if d not in (kept.documents or ())]
            await self._index.attach_documents(user_id, conversation_id, added)
        if updated.model != kept.model and updated.model is not None:
            await self.model_changed(user_id, conversation_id, updated.model)

    async def switch_branch(self, user_id: str, conversation_id: str, message_id: str) -> None:
        """Make the branch holding `message_id` the current path; the next turn goes on it.

        Raises:
            MessageNotFound: No branch of the conversation holds the message.
            ConversationBusy: A turn of the conversation runs.
        """
        chosen = await self.own(user_id, conversation_id)
        if self._busy(conversation_id):
            raise ConversationBusy
        runner = self.assistant_of(chosen).runner
        await switch_branch(self._crew, runner, user_id, conversation_id, message_id)

    async def roll_back(self, user_id: str, conversation_id: str, reply_id: str) -> bool:
        """Remove a stopped reply (and its turn's steps) from the thread; whether it went."""
        engine = engine_of(self._assistants, await self.own(user_id, conversation_id))
        return await roll_back(self._crew, engine.runner, user_id, conversation_id, reply_id)

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
