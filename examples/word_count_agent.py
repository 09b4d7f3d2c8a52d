"""A graph of your own under Threadline: a small tool-calling agent on plain `MessagesState`.

Run it with:

    THREADLINE_GRAPH=examples.word_count_agent:build uv run threadline

Threadline calls `build` once at start-up with the arguments it declares among `model`
(the configured chat model), `store` and `settings`, compiles the graph it returns with
its PostgreSQL checkpointer and store, and runs every turn through it: tokens, tool
frames, stop, queueing, resends, history and restarts all work as with the built-in agent.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

INSTRUCTIONS = SystemMessage("You count words. Use the word_count tool for any counting.")


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


def build(model: BaseChatModel) -> StateGraph[MessagesState]:
    """An agent that answers, calling `word_count` when it needs to count."""
    tools = [word_count]
    answering = model.bind_tools(tools)

    async def agent(state: MessagesState) -> dict[str, object]:
        reply = await answering.ainvoke([INSTRUCTIONS, *state["messages"]])
        return {"messages": [reply]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph
