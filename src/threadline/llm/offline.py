"""A stand-in chat model for running without a Groq key: it says plainly that it is not an AI."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.base import LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from threadline.llm.prompts import (
    DOCUMENTS_NOTE,
    MEMORIES_HEADING,
    ROUTER_INSTRUCTION,
    SUMMARY_INSTRUCTION,
)

__all__ = ("OFFLINE_MODEL_NAME", "OfflineChatModel")

OFFLINE_MODEL_NAME = "threadline-offline"
_QUOTE_CHARS = 80


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_CHARS else flat[: _QUOTE_CHARS - 1] + "…"


def _summary(messages: list[BaseMessage]) -> str:
    """An extractive summary: the newest lines of what it was asked to summarize."""
    return " ".join(str(messages[-1].text).split())[-4000:]


def _reply(messages: list[BaseMessage]) -> str:
    first = messages[0] if messages else None
    if isinstance(first, SystemMessage) and first.text == SUMMARY_INSTRUCTION:
        return _summary(messages)
    if isinstance(first, SystemMessage) and str(first.text).startswith(ROUTER_INSTRUCTION):
        return _route(str(first.text), messages)
    results = _trailing_results(messages)
    sources = [m for m in results if m.name == "search_documents" and m.text.startswith("[1]")]
    if sources:
        return _quoting(str(sources[0].text))
    recalled = _recalled(messages)
    if results and recalled and all(m.name == "search_documents" for m in results):
        results = []  # the documents had nothing on it: answer from what is remembered
    if results:
        said = "; ".join(f"{m.name or 'the tool'} said {str(m.text).rstrip('.')}" for m in results)
        return f"[offline model, not an AI] I asked my tools: {said}."
    return describe_context(messages) + recalled


def _quoting(sources: str) -> str:
    """An answer from the best passage found, quoted whole, with its source number."""
    best = sources.split("\n\n[2] ", maxsplit=1)[0].removeprefix("[1] ")
    return f"[offline model, not an AI] From your documents: {best} [1]"


def _recalled(messages: list[BaseMessage]) -> str:
    """The most relevant memory the model was given, if any, said back."""
    for message in messages:
        text = str(message.text)
        if isinstance(message, SystemMessage) and text.startswith(MEMORIES_HEADING):
            first = text.removeprefix(MEMORIES_HEADING).strip().split("\n")[0]
            return f' I remember: "{first.removeprefix("- ")}".'
    return ""


def _told_of_documents(messages: list[BaseMessage]) -> bool:
    return any(isinstance(m, SystemMessage) and m.text == DOCUMENTS_NOTE for m in messages)


_MENU_LINE = re.compile(r"^- ([^:]+): .*\(tools: (.*)\)$", re.M)


def _route(menu: str, messages: list[BaseMessage]) -> str:
    """Route like a model would: to a specialist with the tool the message needs, if any."""
    agents = [
        (name, [t.strip() for t in tools.split(",")]) for name, tools in _MENU_LINE.findall(menu)
    ]
    if not agents:
        return ""
    every_tool = [tool for _, tools in agents for tool in tools]
    wanted = {str(call["name"]) for call in _tool_calls(messages, every_tool)}
    chosen: str = next((name for name, tools in agents if wanted & set(tools)), agents[0][0])
    return chosen


def _trailing_results(messages: list[BaseMessage]) -> list[ToolMessage]:
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, message)
    return results


# An arithmetic expression: numbers joined by at least one operator.
_ARITHMETIC = re.compile(r"[-(]*\d[\d.\s()]*(?:[-+*/%^\u00d7\u00f7]+[\s(]*\d[\d.\s()]*)+")
_TIME_QUESTION = re.compile(r"\b(what time|what day|what date|time is it|today's date)\b", re.I)
_TIME_ZONE = re.compile(r"\b([A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+)\b")
_REMEMBER = re.compile(r"^\s*(?:please\s+)?remember(?:\s+that)?[\s:,]+(.+)$", re.I | re.S)


def _tool_calls(messages: list[BaseMessage], tools: Sequence[str]) -> list[dict[str, Any]]:
    """The calls the offline model makes for the user's newest message, if it has the tools.

    The calculator for arithmetic, the clock for the date or time (in a zone it names),
    `remember` when asked to remember something, and `search_documents` for a question
    when it was told the user has documents.
    """
    last = messages[-1] if messages else None
    if not isinstance(last, HumanMessage):
        return []
    text = str(last.text)
    if "remember" in tools and (asked := _REMEMBER.match(text)):
        return [{"name": "remember", "args": {"text": asked.group(1).strip()}}]
    if "calculator" in tools and (found := _ARITHMETIC.search(text)):
        return [{"name": "calculator", "args": {"expression": found.group().strip(" ?")}}]
    if "clock" in tools and _TIME_QUESTION.search(text):
        zone = _TIME_ZONE.search(text)
        return [{"name": "clock", "args": {"timezone": zone.group(1) if zone else "UTC"}}]
    if "search_documents" in tools and "?" in text and _told_of_documents(messages):
        return [{"name": "search_documents", "args": {"query": text}}]
    return []


def describe_context(messages: list[BaseMessage]) -> str:
    """Compose the offline reply: what the model received, so memory can be seen working.

    Args:
        messages: The messages the model was called with.

    Returns:
        A reply naming the turn number and the conversation's first and latest user messages.
    """
    said = [m.text for m in messages if isinstance(m, HumanMessage)]
    if not said:
        return "[offline model, not an AI] I received no user message."
    return (
        "[offline model, not an AI] Threadline is running without GROQ_API_KEY, so this reply "
        f"is generated locally. This is turn {len(said)} of this conversation. "
        f'It began with: "{_quote(said[0])}". You said: "{_quote(said[-1])}".'
    )


class OfflineChatModel(BaseChatModel):
    """Echoes back what it was given, streaming it word by word like a real model."""

    @property
    def _llm_type(self) -> str:
        return OFFLINE_MODEL_NAME

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools: the offline model calls the calculator and the clock by itself."""
        names = [convert_to_openai_tool(tool)["function"]["name"] for tool in tools]
        return self.bind(tools=names, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(
            content=_reply(messages),
            response_metadata={"model_name": OFFLINE_MODEL_NAME, "finish_reason": "stop"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from _chunks(_reply(messages))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        calls = _tool_calls(messages, kwargs.get("tools", ()))
        chunks = _call_chunks(calls) if calls else _chunks(_reply(messages))
        for chunk in chunks:
            yield chunk


def _call_chunks(calls: list[dict[str, Any]]) -> Iterator[ChatGenerationChunk]:
    pieces = [
        {
            "index": i,
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "name": c["name"],
            "args": json.dumps(c["args"]),
        }
        for i, c in enumerate(calls)
    ]
    yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=pieces))  # type: ignore[arg-type]
    done = {"model_name": OFFLINE_MODEL_NAME, "finish_reason": "tool_calls"}
    yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=done))


def _chunks(reply: str) -> Iterator[ChatGenerationChunk]:
    # Words keep their trailing space, so the deltas concatenate back to the reply exactly.
    for word in re.findall(r"\S+\s*", reply):
        yield ChatGenerationChunk(message=AIMessageChunk(content=word))
    yield ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            response_metadata={"model_name": OFFLINE_MODEL_NAME, "finish_reason": "stop"},
        )
    )
