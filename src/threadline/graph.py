"""The LangGraph graph: one node that answers the conversation so far, within a budget."""

from __future__ import annotations

from typing import Any

import msgspec
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

from threadline.context import ContextReport, estimate_tokens, fold, summarize, visible
from threadline.conversations import now
from threadline.retry import RetryPolicy, stream_reply

__all__ = ("CONTEXT", "CREATED_AT", "RESPOND_NODE", "ChatGraph", "ChatState", "build_graph")

RESPOND_NODE = "respond"
# Where a message keeps the time it was written (additional_kwargs for the user's,
# response_metadata for the assistant's).
CREATED_AT = "created_at"
# Where a reply keeps the `ContextReport` of the turn that produced it.
CONTEXT = "context"


class ChatState(MessagesState, total=False):
    """The thread: every message (the transcript), plus what the model sees of older ones.

    Threads written before `summary` existed simply lack it and read as unsummarized.
    """

    summary: str  # older turns, folded into prose
    summarized_through: str  # id of the last message folded into `summary`


ChatGraph = CompiledStateGraph[ChatState, Any, ChatState, ChatState]


def build_graph(
    model: BaseChatModel,
    checkpointer: BaseCheckpointSaver[Any],
    system_prompt: str,
    retry: RetryPolicy,
    context_tokens: int = 32_000,
) -> ChatGraph:
    """Compile the chat graph once; each conversation is a thread of it.

    Args:
        model: The chat model that writes replies.
        checkpointer: Persists each thread's state (the conversation's memory).
        system_prompt: Prepended to every model call, never stored in the thread.
        retry: Bounds for retrying a failed model request.
        context_tokens: The most history the model is sent, in estimated tokens.

    Returns:
        The compiled graph. A run expects `configurable.reply_id`, the id the reply gets.
    """
    system = [SystemMessage(content=system_prompt)] if system_prompt else []

    async def respond(state: ChatState, config: RunnableConfig) -> dict[str, Any]:
        recent = _after(state["messages"], state.get("summarized_through", ""))
        summary = state.get("summary", "")
        update: dict[str, Any] = {}
        if cut := fold(recent, context_tokens):
            summary = await summarize(model, summary, recent[:cut])
            update = {"summary": summary, "summarized_through": recent[cut - 1].id or ""}
            recent = recent[cut:]
        shown = [m for m in recent if not _empty_reply(m)]
        prompt = [*system, *_summary_message(summary), *shown]
        reply = await stream_reply(model, prompt, config, retry)
        # The reply's id is chosen before the turn so streamed tokens can name it.
        reply.id = config.get("configurable", {}).get("reply_id")
        reply.response_metadata[CREATED_AT] = now()
        report = ContextReport(
            tokens_used=estimate_tokens([*prompt, reply]),
            token_budget=context_tokens,
            messages_total=len(visible(state["messages"])) + 1,
            messages_in_context=len(shown) + 1,
            summarized=bool(summary),
        )
        reply.response_metadata[CONTEXT] = msgspec.structs.asdict(report)
        return {"messages": [reply], **update}

    builder = StateGraph(ChatState)
    builder.add_node(RESPOND_NODE, respond)
    builder.add_edge(START, RESPOND_NODE)
    return builder.compile(checkpointer=checkpointer)


def _after(messages: list[AnyMessage], message_id: str) -> list[AnyMessage]:
    ids = [m.id for m in messages]
    return messages[ids.index(message_id) + 1 :] if message_id in ids else list(messages)


def _summary_message(summary: str) -> list[SystemMessage]:
    if not summary:
        return []
    return [SystemMessage(content=f"Summary of the earlier conversation:\n{summary}")]


def _empty_reply(message: BaseMessage) -> bool:
    # A reply stopped before its first token is kept in the thread (the user saw it stop)
    # but says nothing; providers reject empty assistant messages, so the model skips it.
    return isinstance(message, AIMessage) and not message.content and not message.tool_calls
