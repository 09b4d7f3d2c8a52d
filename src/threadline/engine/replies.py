"""What a run's messages mean to a turn: its reply, and the tool steps on the way to it."""

from __future__ import annotations

from typing import Any, NamedTuple

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from threadline.engine.context import estimate_tokens
from threadline.engine.messages import AGENT, CONTEXT, STOPPED, TOKENS

__all__ = ("Reply", "reply_of", "steps_in", "written_ids")


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
        tokens=int(metadata.get(TOKENS) or _reported_tokens(message) or estimate_tokens([message])),
    )


def _reported_tokens(message: AIMessage) -> int:
    usage = message.usage_metadata
    return int(usage["total_tokens"]) if usage else 0


def written_ids(updates: dict[str, Any]) -> set[str]:
    """The ids of the messages the nodes of a step wrote."""
    ids: set[str] = set()
    for output in updates.values():
        written = output.get("messages", []) if isinstance(output, dict) else []
        for message in written if isinstance(written, list) else [written]:
            if isinstance(message, BaseMessage) and message.id:
                ids.add(message.id)
    return ids


def steps_in(updates: dict[str, Any], reply_id: str) -> list[AIMessage | ToolMessage]:
    """The tool calls and tool results among what the nodes of a step wrote."""
    found: list[AIMessage | ToolMessage] = []
    for output in updates.values():
        written = output.get("messages", []) if isinstance(output, dict) else []
        for message in written if isinstance(written, list) else [written]:
            if isinstance(message, ToolMessage) or (
                isinstance(message, AIMessage) and message.tool_calls and message.id != reply_id
            ):
                found.append(message)
    return found
