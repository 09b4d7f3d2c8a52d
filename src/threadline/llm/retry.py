"""Calling the model with bounded retries that never repeat a token the client has seen."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import groq
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import Runnable, RunnableConfig

from threadline.llm.errors import IncompleteReply, is_transient_llm_error
from threadline.llm.spans import describe_reply, model_call_attributes
from threadline.observability.metrics import MODEL_ERRORS, observe_first_token, observe_model_call
from threadline.observability.tracing import error_type, span

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
    requested = time.perf_counter()
    attributes = model_call_attributes(model, config)
    while True:
        streamed = False
        first_token: float | None = None
        try:
            with span(f"chat {attributes['gen_ai.request.model']}", attributes) as call:
                chunks: list[AIMessageChunk] = []
                async for chunk in model.astream(messages, config):
                    if delta := str(chunk.text):  # a str subclass msgspec won't encode
                        streamed = True
                        first_token = first_token or time.perf_counter()
                        write(delta)
                    chunks.append(chunk)
                # Merged once at the end: chunk by chunk builds a new message each time.
                reply = _completed(add_ai_message_chunks(*chunks) if chunks else None)
                _measured(reply, requested, first_token)
                describe_reply(call, reply)
            return reply
        except Exception as error:
            MODEL_ERRORS.labels(error_type(error)).inc()
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


def _measured(reply: AIMessage, requested: float, first_token: float | None) -> None:
    """Record the call's duration, time to first token and token usage."""
    model = str(reply.response_metadata.get("model_name") or "unknown")
    if first_token is not None:
        observe_first_token(model, first_token - requested)
    usage = dict(reply.usage_metadata) if reply.usage_metadata else None
    observe_model_call(model, time.perf_counter() - requested, usage)
