"""A stand-in chat model for running without a Groq key: it says plainly that it is not an AI."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from threadline.llm.prompts import SUMMARY_INSTRUCTION

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
    return describe_context(messages)


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
        for chunk in _chunks(_reply(messages)):
            yield chunk


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
