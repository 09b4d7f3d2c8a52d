"""One turn of a conversation: run the graph on the user's message and stream the reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import MessagesState
from langgraph.graph.state import CompiledStateGraph

from threadline.graph import RESPOND_NODE

__all__ = ("Reply", "TurnRunner")

OnDelta = Callable[[str], Awaitable[None]]
ChatGraph = CompiledStateGraph[MessagesState, Any, MessagesState, MessagesState]


class Reply(NamedTuple):
    """The assistant's complete, persisted reply."""

    content: str
    model: str


class TurnRunner:
    """Runs turns on the compiled graph; the thread id is the conversation id."""

    def __init__(self, graph: ChatGraph, model_name: str) -> None:
        self._graph = graph
        self._model_name = model_name

    async def run(
        self, conversation_id: str, message_id: str, text: str, reply_id: str, on_delta: OnDelta
    ) -> Reply:
        """Add the user's message to the thread and produce the assistant's reply.

        Args:
            conversation_id: The thread to continue.
            message_id: The id the user's message is stored under.
            text: The user's message.
            reply_id: The id the reply is stored under, known before the first token.
            on_delta: Awaited with each streamed piece of the reply, in order.

        Returns:
            The reply, after the graph has finished and its checkpoint is written.
        """
        config: RunnableConfig = {
            "configurable": {"thread_id": conversation_id, "reply_id": reply_id}
        }
        inputs: MessagesState = {"messages": [HumanMessage(content=text, id=message_id)]}
        final: AIMessage | None = None
        async for part in self._graph.astream(
            inputs, config, stream_mode=["messages", "updates"], version="v2"
        ):
            if part["type"] == "messages":
                chunk, _ = part["data"]
                # Only streamed chunks are tokens; LangGraph also emits the node's finished
                # message in this mode, which would repeat the whole reply. `.text` is a str
                # subclass that msgspec will not encode: make it a plain str.
                if isinstance(chunk, AIMessageChunk) and (delta := str(chunk.text)):
                    await on_delta(delta)
            elif part["type"] == "updates" and RESPOND_NODE in part["data"]:
                final = part["data"][RESPOND_NODE]["messages"][-1]
        if final is None:
            msg = "the graph finished without a reply"
            raise RuntimeError(msg)
        # The stream ends only after the run's checkpoints are saved, so the reply is durable.
        model = final.response_metadata.get("model_name") or self._model_name
        return Reply(content=str(final.text), model=model)
