"""A thread's runs, as the LangGraph API lists them: derived from its checkpoints.

A run is a turn, under the turn's id (`reply_id`, which LangGraph records in the metadata
of every checkpoint the run writes, and which its reply is stored under). No table of its
own: a run is `pending` or `running` while this process's turn of it waits or runs (or,
for the thread's newest run, while another process holds the thread's lease); else its
outcome is read from the thread: `success` (its reply is there), `interrupted` (stopped,
or paused on what it waits for), `error` (neither, and no run came after it). An older run
whose reply a later one replaced (a regenerate) counts as a success; a run rolled back
(its checkpoint says `rolled_back`) is not listed, as the LangGraph server deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from langchain_core.messages import AIMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

from threadline.chat.langgraph_api.threads import Threads
from threadline.chat.turns.turn_parts import TurnServices
from threadline.engine.messages import STOPPED
from threadline.engine.runner import ROLLED_BACK

if TYPE_CHECKING:
    from threadline.chat.turns.turn import Turn

__all__ = ("RunStatus", "RunView", "ThreadRuns")

RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
# The most checkpoints of a thread read to list its runs (newest first).
SCAN_CHECKPOINTS = 200
_RUN_KEY = "reply_id"


class RunView(msgspec.Struct, kw_only=True):
    """A run as the LangGraph server shows it."""

    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    status: RunStatus
    metadata: dict[str, Any]
    kwargs: dict[str, Any] = msgspec.field(default_factory=dict)
    multitask_strategy: str | None = None


class _Seen(msgspec.Struct):
    first: str
    last: str
    rolled_back: bool = False


class ThreadRuns:
    """The runs of a user's thread: listed, found."""

    def __init__(
        self, crew: TurnServices, threads: Threads, live: Callable[[str], list[Turn]]
    ) -> None:
        """Checkpoints and leases through `crew`; `live(id)`: this process's turns."""
        self._crew = crew
        self._threads = threads
        self._live = live

    async def page(self, user_id: str, thread_id: str, limit: int, offset: int) -> list[RunView]:
        """The thread's runs, newest first.

        Raises:
            ConversationNotFound: Not a thread of this user.
        """
        runs = await self._all(user_id, thread_id)
        return runs[offset : offset + limit]

    async def get(self, user_id: str, thread_id: str, run_id: str) -> RunView | None:
        """One run of the thread; None if the thread has no such run.

        Raises:
            ConversationNotFound: Not a thread of this user.
        """
        return next((r for r in await self._all(user_id, thread_id) if r.run_id == run_id), None)

    async def _all(self, user_id: str, thread_id: str) -> list[RunView]:
        # The owner's, or not found; read through the graph its conversation chose.
        view, runner = await self._threads.with_runner(user_id, thread_id)
        assistant = str(view.metadata.get("assistant_id", ""))
        seen = await self._checkpoints(thread_id)
        latest = await runner.graph.aget_state(_config(thread_id))
        messages = runner.messages(latest.values)
        replies = {m.id: m for m in messages if isinstance(m, AIMessage)}
        # A graph of one's own ids its replies itself: its newest run ended well when the
        # thread is at rest on an answer (nothing left to run, no call unanswered).
        answered = not latest.next and _answer(messages[-1] if messages else None)
        elsewhere = await self._crew.leases.holder_of(thread_id) is not None
        live = {turn.reply_id: turn for turn in self._live(thread_id)}
        runs = [
            RunView(
                run_id=turn.reply_id,
                thread_id=thread_id,
                assistant_id=assistant,
                created_at=latest.created_at or "",
                updated_at=latest.created_at or "",
                status="running" if turn.running else "pending",
                metadata={},
            )
            for turn in reversed(list(live.values()))
        ]
        for index, (run_id, times) in enumerate(seen.items()):
            if run_id in live:
                continue
            newest = index == 0
            paused = bool(latest.interrupts)
            status = _status(run_id, replies, newest=newest, paused=paused, answered=answered)
            if newest and status == "error" and elsewhere:
                status = "running"
            runs.append(
                RunView(
                    run_id=run_id,
                    thread_id=thread_id,
                    assistant_id=assistant,
                    created_at=times.first,
                    updated_at=times.last,
                    status=status,
                    metadata={},
                )
            )
        return runs

    async def _checkpoints(self, thread_id: str) -> dict[str, _Seen]:
        """Each run's first and last checkpoint time, newest run first."""
        saver = self._crew.runner.graph.checkpointer
        seen: dict[str, _Seen] = {}
        if not isinstance(saver, BaseCheckpointSaver):  # a graph always has Threadline's
            return seen
        found: CheckpointTuple
        async for found in saver.alist(_config(thread_id), limit=SCAN_CHECKPOINTS):
            run_id = found.metadata.get(_RUN_KEY)
            if not isinstance(run_id, str):
                continue
            at = str(found.checkpoint["ts"])
            if run_id in seen:
                seen[run_id].first = at
            else:
                seen[run_id] = _Seen(at, at, bool(found.metadata.get(ROLLED_BACK)))
        # A rolled back run is gone, as the LangGraph server deletes it.
        return {run_id: times for run_id, times in seen.items() if not times.rolled_back}


def _answer(message: object) -> bool:
    """Whether `message` is a model's answer that asks for no tool."""
    return isinstance(message, AIMessage) and not message.tool_calls


def _status(
    run_id: str,
    replies: dict[str | None, AIMessage],
    *,
    newest: bool,
    paused: bool,
    answered: bool,
) -> RunStatus:
    reply = replies.get(run_id)
    if reply is not None:
        return "interrupted" if reply.response_metadata.get(STOPPED) else "success"
    if not newest:
        return "success"  # ended, and replaced since (a regenerate) or answered after
    if paused:
        return "interrupted"
    return "success" if answered else "error"  # at rest on an answer, or it failed


def _config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
