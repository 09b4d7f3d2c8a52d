"""The model's context window: recent turns verbatim, older ones folded into a running summary.

Tokens are estimated, not counted: ~4 characters a token plus a few per message, which
needs no tokenizer download and errs on the safe side for English and code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.constants import TAG_NOSTREAM

from threadline.offline import OfflineChatModel

__all__ = (
    "SUMMARY_INSTRUCTION",
    "ContextReport",
    "estimate_tokens",
    "fold",
    "summarize",
    "visible",
)

_PER_MESSAGE = 4
# Recent messages get at most this share of the budget; the rest is for the system prompt,
# the summary and the reply.
_RECENT_SHARE = 0.6
# A fold keeps this share of the recent limit, so the next one is many turns away: each fold
# costs a summarizing model call and a new stored summary.
_KEPT_AFTER_FOLD = 0.5
SUMMARY_INSTRUCTION = (
    "Update the running summary of a conversation. Keep names, facts, decisions, open "
    "questions and the user's preferences; drop pleasantries. Answer with the summary only."
)


class ContextReport(msgspec.Struct):
    """What the model saw on a turn, as the `context` frame reports it."""

    tokens_used: int
    token_budget: int
    messages_total: int
    messages_in_context: int
    summarized: bool


def visible(messages: Sequence[AnyMessage]) -> list[HumanMessage | AIMessage]:
    """The messages a user sees: theirs and the assistant's."""
    return [m for m in messages if isinstance(m, HumanMessage | AIMessage)]


def estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    """A conservative token estimate for `messages`."""
    return sum(math.ceil(_text_length(m) / 4) + _PER_MESSAGE for m in messages)


def _text_length(message: BaseMessage) -> int:
    # Plain string content is the common case; `.text` builds a new string object per call.
    content = message.content
    return len(content) if isinstance(content, str) else len(str(message.text))


def fold(messages: Sequence[AnyMessage], budget: int) -> int:
    """How many of the oldest `messages` to fold into the summary so the rest fit.

    Nothing is folded while the messages fit in the recent share of `budget`. Past it, the
    newest messages are kept while they fit in half that share; the last message is always
    kept, and a tool result is never separated from the call that asked for it.

    Returns:
        The number of leading messages to fold (0 when everything fits).
    """
    limit = budget * _RECENT_SHARE
    if estimate_tokens(messages) <= limit:
        return 0
    limit *= _KEPT_AFTER_FOLD
    keep_from, used = len(messages), 0
    for index in range(len(messages) - 1, -1, -1):
        cost = estimate_tokens([messages[index]])
        if used + cost > limit and keep_from < len(messages):
            break  # the newest message is kept whatever it costs
        used += cost
        keep_from = index
    while 0 < keep_from < len(messages) and isinstance(messages[keep_from], ToolMessage):
        keep_from -= 1  # keep the call with its results
    return keep_from


def _transcript(messages: Sequence[AnyMessage]) -> str:
    lines = []
    for message in messages:
        role = "User" if isinstance(message, HumanMessage) else "Assistant"
        if isinstance(message, HumanMessage | AIMessage) and message.text:
            lines.append(f"{role}: {message.text}")
    return "\n".join(lines)


async def summarize(model: BaseChatModel, summary: str, folded: Sequence[AnyMessage]) -> str:
    """The running summary with `folded` merged in; never streamed to the client.

    Args:
        model: The chat model; the offline model gets an extractive summary instead.
        summary: The summary so far ("" if none).
        folded: The messages leaving the verbatim window.

    Returns:
        The new summary.
    """
    transcript = _transcript(folded)
    if isinstance(model, OfflineChatModel):
        merged = f"{summary}\n{transcript}".strip()
        return merged[-4000:]
    prompt = [
        SystemMessage(SUMMARY_INSTRUCTION),
        HumanMessage(f"Summary so far:\n{summary or '(none)'}\n\nNew messages:\n{transcript}"),
    ]
    # Only the reply's own call writes tokens to the client (see `retry.stream_reply`);
    # TAG_NOSTREAM also keeps this call out of LangGraph's message stream, for any consumer.
    reply = await model.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]})
    return str(reply.text).strip() or summary
