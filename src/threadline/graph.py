"""The LangGraph graph: one node that answers the conversation so far."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

from threadline.conversations import now
from threadline.retry import RetryPolicy, stream_reply

__all__ = ("CREATED_AT", "RESPOND_NODE", "ChatGraph", "build_graph")

# Where a message keeps the time it was written (additional_kwargs for the user's,
# response_metadata for the assistant's).
CREATED_AT = "created_at"

RESPOND_NODE = "respond"

ChatGraph = CompiledStateGraph[MessagesState, Any, MessagesState, MessagesState]


def build_graph(
    model: BaseChatModel,
    checkpointer: BaseCheckpointSaver[Any],
    system_prompt: str,
    retry: RetryPolicy,
) -> ChatGraph:
    """Compile the chat graph once; each conversation is a thread of it.

    Args:
        model: The chat model that writes replies.
        checkpointer: Persists each thread's state (the conversation's memory).
        system_prompt: Prepended to every model call, never stored in the thread.
        retry: Bounds for retrying a failed model request.

    Returns:
        The compiled graph. A run expects `configurable.reply_id`, the id the reply gets.
    """
    system = [SystemMessage(content=system_prompt)] if system_prompt else []

    async def respond(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        history = [*system, *(m for m in state["messages"] if not _empty_reply(m))]
        reply = await stream_reply(model, history, config, retry)
        # The reply's id is chosen before the turn so streamed tokens can name it.
        reply.id = config.get("configurable", {}).get("reply_id")
        reply.response_metadata[CREATED_AT] = now()
        return {"messages": [reply]}

    builder = StateGraph(MessagesState)
    builder.add_node(RESPOND_NODE, respond)
    builder.add_edge(START, RESPOND_NODE)
    return builder.compile(checkpointer=checkpointer)


def _empty_reply(message: BaseMessage) -> bool:
    # A reply stopped before its first token is kept in the thread (the user saw it stop)
    # but says nothing; providers reject empty assistant messages, so the model skips it.
    return isinstance(message, AIMessage) and not message.content and not message.tool_calls
