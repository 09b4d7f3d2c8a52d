"""Graph builders that go wrong, for THREADLINE_GRAPH's and LANGGRAPH_CONFIG's start-up errors."""

from __future__ import annotations

from langgraph.graph import StateGraph
from typing_extensions import TypedDict


class _NoMessages(TypedDict):
    text: str


def raises() -> StateGraph[_NoMessages]:
    msg = "the builder broke"
    raise ValueError(msg)


def not_a_graph() -> int:
    return 42


def without_messages() -> StateGraph[_NoMessages]:
    graph = StateGraph(_NoMessages)
    graph.add_node("echo", lambda state: state)
    graph.set_entry_point("echo")
    return graph


# A name that exists but is no graph, nor anything that builds one.
NUMBER = 42
