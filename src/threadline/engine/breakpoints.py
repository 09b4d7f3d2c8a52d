"""Breakpoints compiled into a graph (`interrupt_before`, `interrupt_after`), read as interrupts.

A run that reaches a breakpoint stops without an `interrupt()` call: LangGraph stores the
thread with its next nodes still to run and no interrupt value. Threadline shows such a
stop like any interrupt, so the client learns the run waits: its value says where
(`{"interrupt_before": ["act"]}`, `{"interrupt_after": ["think"]}`), its id is the stopped
checkpoint's, and answering it continues the run (LangGraph's resume with no input).

A stop is read from the thread's latest checkpoint, so it survives restarts:

- a checkpoint a run wrote (`source: "loop"`) whose next nodes include one to stop
  before, or written just after a node to stop after;
- the turn's input checkpoint (a graph of one's own gets its input as a checkpoint of
  its own, written as `START`), when its newest message is the user's and a first node
  is one to stop before: the run stopped before anything ran, as on a LangGraph server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.pregel import Pregel
from langgraph.types import All, StateSnapshot

from threadline.engine.approvals import PendingInterrupt

__all__ = ("Breakpoints",)


class Breakpoints(NamedTuple):
    """A compiled graph's breakpoints: the nodes it stops before, and after."""

    before: All | Sequence[str]
    after: All | Sequence[str]

    @classmethod
    def of(cls, graph: Pregel[Any, Any]) -> Breakpoints | None:
        """The graph's breakpoints, or None if it was compiled without any."""
        found = cls(graph.interrupt_before_nodes or (), graph.interrupt_after_nodes or ())
        return found if found.before or found.after else None

    async def stopped_at(
        self, graph: Pregel[Any, Any], snapshot: StateSnapshot, messages: Sequence[AnyMessage]
    ) -> PendingInterrupt | None:
        """The breakpoint the thread's latest checkpoint (`snapshot`) waits at, if any.

        Args:
            graph: The graph, to read the checkpoint before `snapshot` with.
            snapshot: The thread's latest state.
            messages: Its messages.
        """
        tasks = snapshot.tasks
        if not snapshot.next or any(t.interrupts or t.error for t in tasks):
            return None
        source = (snapshot.metadata or {}).get("source")
        before = _among(snapshot.next, self.before)
        if source == "update" and not (messages and isinstance(messages[-1], HumanMessage)):
            return None
        if before and source in {"loop", "update"}:
            return _pending(snapshot, "interrupt_before", before)
        if source != "loop" or not self.after or snapshot.parent_config is None:
            return None
        parent = await graph.aget_state(snapshot.parent_config)
        after = _among(parent.next, self.after)
        return _pending(snapshot, "interrupt_after", after) if after else None


def _among(nodes: Sequence[str], wanted: All | Sequence[str]) -> list[str]:
    return [n for n in nodes if wanted == "*" or n in wanted]


def _pending(snapshot: StateSnapshot, kind: str, nodes: list[str]) -> PendingInterrupt:
    """The stop as an interrupt: its id stands for this checkpoint's stop only."""
    checkpoint_id = str(snapshot.config.get("configurable", {}).get("checkpoint_id"))
    digest = hashlib.blake2b(f"{checkpoint_id}:{kind}".encode(), digest_size=16)
    return PendingInterrupt(digest.hexdigest(), {kind: nodes})
