"""The LangGraph graph: one node that answers the conversation so far."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

__all__ = ("RESPOND_NODE", "build_graph")

RESPOND_NODE = "respond"


def build_graph(
    model: BaseChatModel, checkpointer: BaseCheckpointSaver[Any], system_prompt: str
) -> CompiledStateGraph[MessagesState, Any, MessagesState, MessagesState]:
    """Compile the chat graph once; each conversation is a thread of it.

    Args:
        model: The chat model that writes replies.
        checkpointer: Persists each thread's state (the conversation's memory).
        system_prompt: Prepended to every model call, never stored in the thread.

    Returns:
        The compiled graph. A run expects `configurable.reply_id`, the id the reply gets.
    """
    system = [SystemMessage(content=system_prompt)] if system_prompt else []

    async def respond(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        history: list[BaseMessage] = [*system, *state["messages"]]
        reply = await model.ainvoke(history, config)
        # The reply's id is chosen before the turn so streamed tokens can name it.
        reply_id = config.get("configurable", {}).get("reply_id")
        return {"messages": [AIMessage(content=reply.content, id=reply_id, **_metadata(reply))]}

    builder = StateGraph(MessagesState)
    builder.add_node(RESPOND_NODE, respond)
    builder.add_edge(START, RESPOND_NODE)
    return builder.compile(checkpointer=checkpointer)


def _metadata(reply: BaseMessage) -> dict[str, Any]:
    extra: dict[str, Any] = {"response_metadata": reply.response_metadata}
    if isinstance(reply, AIMessage) and reply.usage_metadata:
        extra["usage_metadata"] = reply.usage_metadata
    return extra
