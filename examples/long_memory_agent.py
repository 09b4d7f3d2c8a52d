"""A graph of your own with Threadline's bounded context.

However long the conversation, the model gets the recent messages and a running summary,
and each turn costs the same.

    THREADLINE_GRAPH=examples.long_memory_agent:build uv run threadline

Its state is Threadline's `ChatState` (a window of messages stored as deltas, and a
digest); `bounded_window` folds what no longer fits CONTEXT_TOKENS into the summary
before each answer. History still returns every message.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langgraph.graph import START, StateGraph

from threadline.engine.state import ChatState
from threadline.engine.window import bounded_window
from threadline.settings import Settings

INSTRUCTIONS = SystemMessage("You are a patient assistant with a long memory.")


def build(model: BaseChatModel, settings: Settings) -> StateGraph[ChatState]:
    """One node that answers within CONTEXT_TOKENS."""

    async def agent(state: ChatState) -> dict[str, Any]:
        shown = await bounded_window(state, model, settings.context_tokens)
        reply = await model.ainvoke([INSTRUCTIONS, *shown.messages])
        return shown.with_reply(reply)

    graph = StateGraph(ChatState)
    graph.add_node("agent", agent)
    graph.add_edge(START, "agent")
    return graph
