"""A graph's messages, whatever its state is: a TypedDict, a dataclass or a pydantic model.

The messages are the channel whose reducer is LangGraph's `add_messages`, under any name
(`messages` in `MessagesState`, `conversation` in a dataclass of one's own), or
Threadline's own window (`state.ChatState`, which a graph of one's own may use). Values come as
a dict, or as an instance of the state's class (LangGraph's v2 stream gives dataclass and
pydantic states as such), and are read either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage, convert_to_messages
from langgraph.graph import add_messages

from threadline.engine.state import append_messages

__all__ = ("checked_update", "messages_in", "messages_key")

# Threadline's own channels beside its window (`state.ChatState`): its graph writes them.
_INTERNAL = frozenset({"digest", "agent"})

# The name the reducer has before LangGraph wraps it; `add_messages(format=...)` returns a
# `functools.partial` of that function.
_UNWRAPPED = (add_messages.__module__, "add_messages")


def messages_key(channels: Mapping[str, object]) -> str | None:
    """The channel that keeps the messages: reduced by `add_messages` (`messages` first).

    Returns:
        Its name, or None if no channel of the state keeps messages.
    """
    found = [name for name, channel in channels.items() if _adds_messages(channel)]
    if "messages" in found:
        return "messages"
    return found[0] if found else None


def _adds_messages(channel: object) -> bool:
    if getattr(channel, "reducer", None) is append_messages:  # Threadline's window
        return True
    operator = getattr(channel, "operator", None)
    if operator is add_messages:
        return True
    unwrapped = getattr(operator, "func", None)  # add_messages(format="langchain-openai")
    named = (getattr(unwrapped, "__module__", None), getattr(unwrapped, "__name__", None))
    return named == _UNWRAPPED


def messages_in(values: Any, key: str) -> list[AnyMessage]:
    """The messages in a state's values (a dict, a dataclass or a pydantic model)."""
    found = values.get(key) if isinstance(values, Mapping) else getattr(values, key, None)
    return list(found) if isinstance(found, list) else []


def checked_update(
    channels: Mapping[str, object], values: dict[str, Any], key: str, earlier: list[AnyMessage]
) -> dict[str, Any]:
    """`values` as a state update the graph can run with: its messages as LangChain's.

    Args:
        channels: The graph's channels.
        values: The update, by channel.
        key: The channel of the messages.
        earlier: The thread's messages so far (a tool result must answer one of their calls).

    Raises:
        ValueError: A key the state lacks or Threadline keeps, messages that are not a
            list of messages, a tool result answering no call; its text says which.
    """
    unknown = sorted(k for k in values if k not in channels or k.startswith("__"))
    if unknown:
        raise ValueError(f"values.{unknown[0]}: the graph's state has no such key")
    if getattr(channels[key], "reducer", None) is append_messages:  # Threadline's window
        kept = sorted(_INTERNAL & set(values))
        if kept:
            raise ValueError(f"values.{kept[0]}: Threadline keeps it; it is not writable")
    if key not in values:
        return values
    if not isinstance(values[key], list):
        raise ValueError(f"values.{key}: a list of messages")
    try:
        messages = convert_to_messages(values[key])
    except (ValueError, NotImplementedError) as error:  # pydantic's errors are ValueErrors
        raise ValueError(f"values.{key}: {str(error).splitlines()[0]}") from None
    calls = {
        c["id"] for m in [*earlier, *messages] if isinstance(m, AIMessage) for c in m.tool_calls
    }
    orphan = next(
        (m for m in messages if isinstance(m, ToolMessage) and m.tool_call_id not in calls), None
    )
    if orphan is not None:
        detail = f"values.{key}: tool_call_id {orphan.tool_call_id!r} answers no tool call"
        raise ValueError(detail)
    return {**values, key: messages}
