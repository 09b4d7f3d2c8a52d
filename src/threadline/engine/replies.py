"""What a run's messages mean to a turn: its reply, and the tool steps on the way to it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NamedTuple, TypeGuard

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from threadline.engine.context import tokens_spent
from threadline.engine.messages import AGENT, CITATIONS, CONTEXT, STOPPED, TOKENS

__all__ = ("Reply", "is_step", "reply_of", "step_key", "tokens_of", "written_messages")


class Reply(NamedTuple):
    """The assistant's persisted reply."""

    message_id: str
    content: str
    model: str
    stopped: bool = False
    # The ContextReport fields of the turn that wrote it (absent for stopped replies).
    context: dict[str, Any] | None = None
    # Model tokens the turn used (estimated for a stopped reply: its text only).
    tokens: int = 0
    # The specialist that answered, when the graph has several.
    agent: str | None = None
    # The passages it drew on ({document_id, title, text, score}), if it searched any.
    citations: list[dict[str, Any]] | None = None


def reply_of(message: AIMessage, default_model: str) -> Reply:
    """Describe a stored assistant message as a `Reply`."""
    metadata = message.response_metadata
    return Reply(
        message_id=message.id or "",
        content=str(message.text),
        model=metadata.get("model_name") or default_model,
        stopped=bool(metadata.get(STOPPED)),
        context=metadata.get(CONTEXT),
        agent=metadata.get(AGENT),
        tokens=tokens_of(message),
        citations=metadata.get(CITATIONS),
    )


def tokens_of(message: AIMessage) -> int:
    """The model tokens behind a stored assistant message.

    What the turn recorded (summary and router calls included), else the provider's count
    for this call, else an estimate from its text (a stopped reply).
    """
    return int(message.response_metadata.get(TOKENS) or tokens_spent([], message))


def written_messages(updates: dict[str, Any], keys: Collection[str]) -> list[BaseMessage]:
    """The messages the nodes of a step wrote under `keys` (LangGraph's `updates` stream)."""
    found: list[BaseMessage] = []
    for output in updates.values():
        for key in keys:
            written = output.get(key, []) if isinstance(output, dict) else []
            found += [
                m
                for m in (written if isinstance(written, list) else [written])
                if isinstance(m, BaseMessage)
            ]
    return found


def is_step(message: BaseMessage, reply_id: str) -> TypeGuard[AIMessage | ToolMessage]:
    """Whether a written message is a step on the way to the reply: a call or a result."""
    return isinstance(message, ToolMessage) or (
        isinstance(message, AIMessage) and bool(message.tool_calls) and message.id != reply_id
    )


def step_key(message: BaseMessage) -> str | None:
    """What a step is known by, whatever id it carries: its tool calls' ids, or its call's.

    A node may write a step before LangGraph gives it an id, and a graph of several may
    write it again (a subgraph, then its parent); the calls' ids stay the same.
    """
    if isinstance(message, ToolMessage):
        return f"result:{message.tool_call_id}"
    if isinstance(message, AIMessage) and message.tool_calls:
        return "calls:" + ",".join(call["id"] or "" for call in message.tool_calls)
    return None
