"""A thread's state at a checkpoint, as the LangGraph server shows it to its clients.

Values are made JSON as the LangGraph server makes them: a LangChain message becomes its
dict (`type`, `content`, `id`, `tool_calls`, ...), any other model its dump; whatever has
no JSON form becomes its text rather than failing the request.
"""

from __future__ import annotations

from typing import Any

import msgspec
from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, PregelTask, StateSnapshot
from pydantic import BaseModel

__all__ = ("CheckpointRef", "InterruptView", "StateView", "TaskView", "jsonable", "state_view")


class CheckpointRef(msgspec.Struct, kw_only=True):
    """Which checkpoint: its thread, namespace and id."""

    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class InterruptView(msgspec.Struct, kw_only=True):
    """A question a paused run waits on (`Command(resume=...)` answers it)."""

    value: Any
    id: str


class TaskView(msgspec.Struct, kw_only=True):
    """A node due to run next (or that ran and failed, or paused)."""

    id: str
    name: str
    error: str | None = None
    interrupts: list[InterruptView] = msgspec.field(default_factory=list)
    checkpoint: CheckpointRef | None = None
    state: dict[str, Any] | None = None
    result: Any | None = None


class StateView(msgspec.Struct, kw_only=True):
    """The thread's state at one checkpoint."""

    values: Any
    next: list[str]
    tasks: list[TaskView]
    checkpoint: CheckpointRef
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_checkpoint: CheckpointRef | None
    interrupts: list[InterruptView]


def _encode_other(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Interrupt):
        return {"value": value.value, "id": value.id}
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_other)


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data (dicts, lists, strings, numbers)."""
    return msgspec.json.decode(_ENCODER.encode(value))


def _ref(config: RunnableConfig | None) -> CheckpointRef | None:
    if not config:
        return None
    configurable = config.get("configurable", {})
    return CheckpointRef(
        thread_id=str(configurable.get("thread_id", "")),
        checkpoint_ns=str(configurable.get("checkpoint_ns", "")),
        checkpoint_id=configurable.get("checkpoint_id"),
        checkpoint_map=configurable.get("checkpoint_map"),
    )


def interrupt_views(interrupts: tuple[Interrupt, ...]) -> list[InterruptView]:
    """Interrupts as JSON data."""
    return [InterruptView(value=jsonable(i.value), id=i.id) for i in interrupts]


def _task(task: PregelTask) -> TaskView:
    state = task.state
    return TaskView(
        id=task.id,
        name=task.name,
        error=None if task.error is None else f"{type(task.error).__name__}: {task.error}",
        interrupts=interrupt_views(task.interrupts),
        checkpoint=_ref(state) if isinstance(state, dict) else None,
        result=jsonable(task.result) if task.result is not None else None,
    )


def state_view(snapshot: StateSnapshot) -> StateView:
    """A snapshot (`graph.aget_state`) as the LangGraph server answers it."""
    checkpoint = _ref(snapshot.config)
    assert checkpoint is not None  # noqa: S101 - a snapshot always has its config
    return StateView(
        values=jsonable(snapshot.values),
        next=list(snapshot.next),
        tasks=[_task(task) for task in snapshot.tasks],
        checkpoint=checkpoint,
        metadata=jsonable(snapshot.metadata) if snapshot.metadata is not None else None,
        created_at=snapshot.created_at,
        parent_checkpoint=_ref(snapshot.parent_config),
        interrupts=interrupt_views(snapshot.interrupts),
    )
