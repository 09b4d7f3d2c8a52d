"""Calling the model with bounded retries that never repeat a token the client has seen."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import groq
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import Runnable, RunnableConfig

from threadline.llm.errors import IncompleteReply, is_transient_llm_error

__all__ = ("RetryPolicy", "stream_reply")

logger = logging.getLogger(__name__)

_MAX_DELAY = 20.0


class RetryPolicy(NamedTuple):
    """How often and how patiently a failed model request is sent again."""

    max_retries: int
    backoff: float

    def delay(self, attempt: int, error: BaseException) -> float:
        """Seconds to wait before retry `attempt` (0-based).

        The server's Retry-After if it gave one, else exponential backoff with jitter.
        """
        if isinstance(error, groq.APIStatusError):
            retry_after = str(error.response.headers.get("retry-after", ""))
            if retry_after.replace(".", "", 1).isdigit():
                return min(float(retry_after), _MAX_DELAY)
        jitter = 0.5 + random.random() / 2  # noqa: S311 - not cryptography
        return min(self.backoff * 2.0**attempt * jitter, _MAX_DELAY)


async def stream_reply(
    model: Runnable[Any, Any],
    messages: Sequence[BaseMessage],
    config: RunnableConfig,
    policy: RetryPolicy,
    write: Callable[[str], None],
) -> AIMessage:
    """Stream one reply, retrying transient failures that happen before the first token.

    Each token is handed to `write` as it arrives, so once any was streamed a retry would
    show the client a second, different beginning. Such a failure is raised instead; the
    caller reports it and the partial text is discarded.

    Args:
        model: The chat model.
        messages: What the model is sent.
        config: The node's config (callbacks, tags, the run's identity).
        policy: Retry bounds.
        write: Receives each token's text, in order.

    Returns:
        The complete reply.

    Raises:
        IncompleteReply: The stream ended without a finish reason.
    """
    attempt = 0
    while True:
        streamed = False
        try:
            chunks: list[AIMessageChunk] = []
            async for chunk in model.astream(messages, config):
                if delta := str(chunk.text):  # `.text` is a str subclass msgspec won't encode
                    streamed = True
                    write(delta)
                chunks.append(chunk)
            # Merged once at the end: adding chunk by chunk builds a new message each time.
            return _completed(add_ai_message_chunks(*chunks) if chunks else None)
        except Exception as error:
            if streamed or attempt >= policy.max_retries or not is_transient_llm_error(error):
                raise
            delay = policy.delay(attempt, error)
            logger.warning(
                "llm.retry",
                extra={
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                    "error": type(error).__name__,
                },
            )
            await asyncio.sleep(delay)
            attempt += 1


def _completed(reply: AIMessageChunk | None) -> AIMessage:
    # A stream that is cut without `data: [DONE]` can end "cleanly" for the client library;
    # only the finish reason tells a whole reply from a fragment.
    if reply is None or not reply.response_metadata.get("finish_reason"):
        raise IncompleteReply
    return AIMessage(
        content=reply.content,
        response_metadata=reply.response_metadata,
        usage_metadata=reply.usage_metadata,
        tool_calls=reply.tool_calls,
        invalid_tool_calls=reply.invalid_tool_calls,
    )
