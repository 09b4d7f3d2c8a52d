# ruff: noqa: ARG002 - the model keeps BaseChatModel's signatures, whose arguments it does not need
"""One node that calls a model, the simplest LangGraph chatbot, with a model that needs no key.

Both servers of `bench/langgraph_servers.py` load this very file through `langgraph.json`:
Threadline (`LANGGRAPH_CONFIG`) and `langgraph dev`. It imports nothing of Threadline, so it
also loads in `langgraph-cli`'s own environment. The model streams its reply word by word,
as Threadline's offline model does: the servers' cost is what is measured, not a model's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.graph import START, MessagesState, StateGraph


def _reply(messages: list[BaseMessage]) -> str:
    said = " ".join(str(messages[-1].text).split()) if messages else ""
    return f"[offline-like model, not an AI] You said: {said} That is all I can say."


class WordsModel(BaseChatModel):
    """Says back the last message, streamed a word at a time."""

    @property
    def _llm_type(self) -> str:
        return "bench-words"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(_reply(messages)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for word in re.findall(r"\S+\s*", _reply(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages):
            yield chunk


_MODEL = WordsModel()


async def chat(state: MessagesState) -> dict[str, Any]:
    """Answer the conversation so far."""
    return {"messages": [await _MODEL.ainvoke(state["messages"])]}


graph = StateGraph(MessagesState).add_node(chat).add_edge(START, "chat").compile()
