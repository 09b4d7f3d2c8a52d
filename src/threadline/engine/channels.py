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

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages

from threadline.engine.state import append_messages

__all__ = ("messages_in", "messages_key")

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
