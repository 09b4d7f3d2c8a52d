"""Conversations as LangGraph threads: made, found, read at any checkpoint, and amended.

What the LangGraph API (`transport/langgraph_api`) asks of the service. A thread is a
conversation (`thread_id` = `conversation_id`): the same index entry, the same ownership
(another user's thread is `ConversationNotFound`, exactly like a missing one), the same
lease (an update waits for no turn: it is refused while one runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec
from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError

from threadline.chat.errors import (
    CheckpointNotFound,
    ConversationBusy,
    ConversationExists,
    ConversationNotFound,
    InvalidRequest,
)
from threadline.chat.langgraph_api.snapshots import (
    InterruptView,
    StateView,
    interrupt_views,
    jsonable,
    state_view,
)
from threadline.chat.turns.amending import amending
from threadline.chat.turns.turn import TurnServices
from threadline.conversations.index import Choice, new_id
from threadline.conversations.threads import Claim, SortBy, ThreadCatalog, ThreadRow
from threadline.engine.assistants import Assistants
from threadline.engine.channels import checked_update
from threadline.engine.runner import TurnRunner

__all__ = ("ThreadStatus", "ThreadTaken", "ThreadView", "Threads")

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
# A search by status looks at this many of the newest threads at most.
STATUS_SCAN = 1000
_DETAIL_CHARS = 300


class ThreadTaken(Exception):
    """The thread id asked for is in use already (the caller's, or another user's)."""


class ThreadView(msgspec.Struct, kw_only=True):
    """A thread as the LangGraph server lists it."""

    thread_id: str
    created_at: str
    updated_at: datetime
    metadata: dict[str, Any]
    status: ThreadStatus
    values: Any
    interrupts: dict[str, list[InterruptView]]


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _without(view: StateView, key: str, ids: set[str]) -> StateView:
    """`view` without the messages of `ids` among its values' messages."""
    values = view.values
    if not isinstance(values, dict) or not isinstance(values.get(key), list):
        return view
    kept = [m for m in values[key] if not (isinstance(m, dict) and m.get("id") in ids)]
    return msgspec.structs.replace(view, values={**values, key: kept})


class Threads:
    """The LangGraph API's thread operations, each for the owner only."""

    def __init__(
        self,
        crew: TurnServices,
        catalog: ThreadCatalog,
        busy: Callable[[str], bool],
        assistants: Assistants | None = None,
    ) -> None:
        """Work through `crew`'s index, runner and leases; `busy(id)`: a turn waits here.

        `assistants`: the graphs served; a thread is read through its own assistant's
        (the default's, `crew.runner`, when it chose none or one no longer served).
        """
        self._crew = crew
        self._catalog = catalog
        self._busy_here = busy
        self._assistants = assistants

    def _runner(self, row: ThreadRow) -> TurnRunner:
        """The runner of the graph the thread's conversation chose."""
        chosen = self._assistants.get(row.assistant_id) if self._assistants else None
        return chosen.runner if chosen is not None else self._crew.runner

    async def create(
        self,
        user_id: str,
        thread_id: str | None,
        metadata: dict[str, Any],
        *,
        reuse: bool,
        choice: Choice | None = None,
    ) -> ThreadView:
        """Make a conversation, under a chosen id if given (with `choice`'s assistant).

        Raises:
            ThreadTaken: The id is in use (and not the caller's with `reuse`).
        """
        chosen = thread_id or new_id()
        if await self._claim(user_id, chosen, metadata, choice) is Claim.MINE and not reuse:
            raise ThreadTaken(chosen)
        return await self.get(user_id, chosen)

    async def claim(self, user_id: str, thread_id: str, *, choice: Choice | None = None) -> None:
        """Make the user's conversation under a client's id, or keep theirs: nothing read back.

        Raises:
            ConversationExists: The id is another user's (ids are global, as LangGraph's).
        """
        try:
            await self._claim(user_id, thread_id, {}, choice)
        except ThreadTaken:
            raise ConversationExists from None

    async def _claim(
        self, user_id: str, thread_id: str, metadata: dict[str, Any], choice: Choice | None
    ) -> Claim:
        claim = await self._catalog.claim(user_id, thread_id, metadata, choice)
        if claim is Claim.TAKEN:
            raise ThreadTaken(thread_id)
        if claim is Claim.CREATED:
            await self._crew.activity.created(user_id, thread_id)
        return claim

    async def with_runner(self, user_id: str, thread_id: str) -> tuple[ThreadView, TurnRunner]:
        """The thread, and the runner of the graph its conversation chose.

        Raises:
            ConversationNotFound: Not a thread of this user.
        """
        row = await self._row(user_id, thread_id)
        return await self._view(row), self._runner(row)

    async def get(self, user_id: str, thread_id: str) -> ThreadView:
        """The thread with its latest values and status."""
        return await self._view(await self._row(user_id, thread_id))

    async def _row(self, user_id: str, thread_id: str) -> ThreadRow:
        row = await self._catalog.get(user_id, thread_id)
        if row is None:
            raise ConversationNotFound
        return row

    async def update(self, user_id: str, thread_id: str, metadata: dict[str, Any]) -> ThreadView:
        """Merge `metadata` into the thread's."""
        row = await self._catalog.merge_metadata(user_id, thread_id, metadata)
        if row is None:
            raise ConversationNotFound
        return await self._view(row)

    async def search(  # noqa: PLR0913 - the search's terms, each named
        self,
        user_id: str,
        metadata: dict[str, Any],
        status: ThreadStatus | None,
        *,
        sort_by: SortBy,
        descending: bool,
        limit: int,
        offset: int,
    ) -> list[ThreadView]:
        """The user's threads whose metadata contains `metadata` (and of that status)."""
        if status is None:
            rows = await self._catalog.search(
                user_id,
                metadata,
                sort_by=sort_by,
                descending=descending,
                limit=limit,
                offset=offset,
            )
            return [await self._view(row) for row in rows]
        rows = await self._catalog.search(
            user_id, metadata, sort_by=sort_by, descending=descending, limit=STATUS_SCAN, offset=0
        )
        views = [view for row in rows if (view := await self._view(row)).status == status]
        return views[offset : offset + limit]

    async def state(
        self, user_id: str, thread_id: str, checkpoint_id: str | None, *, as_run: bool = False
    ) -> StateView:
        """The thread's state, the latest or at a checkpoint of its own.

        At an earlier checkpoint, its own state (see `_own_states`); `as_run`: the state a
        run from it starts with, the inputs that waited on it applied.

        Raises:
            ConversationNotFound: No such thread of the user, or no such checkpoint of it.
        """
        runner = self._runner(await self._row(user_id, thread_id))
        snapshot = await runner.graph.aget_state(_config(thread_id, checkpoint_id))
        if checkpoint_id is not None and snapshot.created_at is None:
            raise ConversationNotFound("no checkpoint with this id in this thread")
        if checkpoint_id is None or as_run:
            return state_view(snapshot)
        (view,) = await self._own_states(runner, thread_id, [state_view(snapshot)])
        return view

    async def history(  # noqa: PLR0913 - the history's terms, each named
        self,
        user_id: str,
        thread_id: str,
        limit: int,
        *,
        before: str | None = None,
        metadata: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> list[StateView]:
        """The thread's states, newest first: from `at`, before `before`, if given."""
        runner = self._runner(await self._row(user_id, thread_id))
        found = runner.graph.aget_state_history(
            _config(thread_id, at),
            filter=metadata or None,
            before=_config(thread_id, before) if before else None,
            limit=limit,
        )
        return await self._own_states(runner, thread_id, [state_view(s) async for s in found])

    async def _own_states(
        self, runner: TurnRunner, thread_id: str, views: list[StateView]
    ) -> list[StateView]:
        """Each state as its checkpoint holds it, without the inputs a later one applied.

        A turn's message waits on the thread's latest checkpoint until its run writes the
        next (LangGraph applies such writes when it reads a state); once that is written,
        the message is the later state's, as on a LangGraph server, where a run's input
        checkpoint shows the state before its input. A client that edits from the parent
        of the first state holding a message then forks from a state without it.
        """
        shown = [view.checkpoint.checkpoint_id or "" for view in views]
        continued = await runner.continued_inputs(thread_id, shown)
        key = runner.messages_key
        return [
            _without(view, key, ids)
            if (ids := continued.get(view.checkpoint.checkpoint_id or ""))
            else view
            for view in views
        ]

    async def update_state(
        self,
        user_id: str,
        thread_id: str,
        values: dict[str, Any] | Sequence[Any] | None,
        *,
        as_node: str | None,
        checkpoint_id: str | None,
    ) -> StateView:
        """Write `values` as a new checkpoint, as `as_node`'s output; refused while busy.

        Returns:
            The new state (its `checkpoint` is the one written).
        """
        crew = self._crew
        # Another user's busy thread is a missing one.
        runner = self._runner(await self._row(user_id, thread_id))
        if self._busy_here(thread_id):
            raise ConversationBusy
        try:
            async with amending(
                crew.leases, crew.activity, user_id, thread_id, wait=False
            ) as amendment:
                config = _config(thread_id, checkpoint_id)
                update = await self._checked(runner, config, values, checkpoint_id)
                written = await runner.graph.aupdate_state(config, update, as_node=as_node)
                snapshot = await runner.graph.aget_state(written)
                await amendment.record(runner.messages(snapshot.values))
        except InvalidUpdateError as error:  # no such node, values of another shape
            raise InvalidRequest(f"values: {str(error)[:_DETAIL_CHARS]}") from None
        return state_view(snapshot)

    async def _checked(
        self, runner: TurnRunner, config: RunnableConfig, values: Any, checkpoint_id: str | None
    ) -> Any:
        """`values` as an update the graph can run with, from the checkpoint it names.

        Raises:
            CheckpointNotFound: The thread has no checkpoint `checkpoint_id`.
            InvalidRequest: Values the graph's state cannot take (`checked_update`).
        """
        now = await runner.graph.aget_state(config)
        if checkpoint_id is not None and now.created_at is None:
            raise CheckpointNotFound
        if not isinstance(values, dict):
            return values
        try:
            return checked_update(
                runner.graph.channels, values, runner.messages_key, runner.messages(now.values)
            )
        except ValueError as error:
            raise InvalidRequest(str(error)[:_DETAIL_CHARS]) from None

    async def _view(self, row: ThreadRow) -> ThreadView:
        runner = self._runner(row)
        snapshot = await runner.graph.aget_state(_config(row.thread_id))
        status: ThreadStatus = "idle"
        if self._busy_here(row.thread_id) or await self._crew.leases.holder_of(row.thread_id):
            status = "busy"  # a turn waits or runs, on this server or another
        elif snapshot.interrupts or (
            snapshot.next and await runner.pending_interrupts(row.thread_id)
        ):
            status = "interrupted"  # a run paused (an interrupt, a breakpoint), waiting
        interrupts = {
            task.id: interrupt_views(task.interrupts) for task in snapshot.tasks if task.interrupts
        }
        return ThreadView(
            thread_id=row.thread_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            metadata=row.metadata,
            status=status,
            values=jsonable(snapshot.values) if snapshot.created_at else None,
            interrupts=interrupts,
        )
