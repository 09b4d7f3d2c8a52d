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

from threadline.llm.prompts import SUMMARY_INSTRUCTION

__all__ = (
    "SUMMARY_HEADER",
    "SUMMARY_INSTRUCTION",
    "ContextReport",
    "estimate_tokens",
    "fold",
    "summarize",
    "summary_limit",
    "summary_message",
    "visible",
)

_PER_MESSAGE = 4
_CHARS_PER_TOKEN = 4
# The budget is shared out: the running summary gets at most this share, the reply is left
# at least this share, and recent messages (with the system prompt) get the rest.
_SUMMARY_SHARE = 0.2
_REPLY_SHARE = 0.2
# A fold keeps this share of the recent limit, so the next one is many turns away: each fold
# costs a summarizing model call and a new stored summary.
_KEPT_AFTER_FOLD = 0.5
SUMMARY_HEADER = "Summary of the earlier conversation:\n"
_ELLIPSIS = "…"


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
    return sum(math.ceil(_text_length(m) / _CHARS_PER_TOKEN) + _PER_MESSAGE for m in messages)


def tokens_spent(prompt: Sequence[BaseMessage], reply: BaseMessage) -> int:
    """The tokens a model call used: the provider's count, or an estimate if it gave none."""
    usage = getattr(reply, "usage_metadata", None)
    if usage and usage.get("total_tokens"):
        return int(usage["total_tokens"])
    return estimate_tokens([*prompt, reply])


def _text_length(message: BaseMessage) -> int:
    # Plain string content is the common case; `.text` builds a new string object per call.
    content = message.content
    return len(content) if isinstance(content, str) else len(str(message.text))


def summary_limit(budget: int) -> int:
    """The most estimated tokens the running summary may take, as the model is sent it."""
    return int(budget * _SUMMARY_SHARE)


def summary_message(summary: str) -> list[SystemMessage]:
    """The summary as the model is sent it (nothing while there is none)."""
    return [SystemMessage(content=SUMMARY_HEADER + summary)] if summary else []


def fold(messages: Sequence[AnyMessage], budget: int, reserved: int = 0) -> int:
    """How many of the oldest `messages` to fold into the summary so the rest fit.

    Recent messages get what the budget leaves after the summary's share, the reply's share
    and `reserved` (the system prompt). Nothing is folded while they fit. Past it, the
    newest messages are kept while they fit in half that; the last message is always kept,
    and a tool result is never separated from the call that asked for it.

    Returns:
        The number of leading messages to fold (0 when everything fits).
    """
    limit = budget * (1 - _SUMMARY_SHARE - _REPLY_SHARE) - reserved
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


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 0)] + _ELLIPSIS


def _fair_share(lengths: Sequence[int], total: int) -> int:
    """The largest length cap under which `lengths` add up to at most `total`."""
    remaining, count = total, len(lengths)
    for done, length in enumerate(sorted(lengths)):
        share = remaining // (count - done)
        if length > share:
            return share
        remaining -= length
    return max(lengths, default=0)


def _transcript(messages: Sequence[AnyMessage], chars: int) -> str:
    """The user and assistant lines of `messages`, each clipped so all fit in `chars`."""
    lines = [
        ("User" if isinstance(m, HumanMessage) else "Assistant", str(m.text))
        for m in messages
        if isinstance(m, HumanMessage | AIMessage) and m.text
    ]
    overhead = sum(len(role) + 3 for role, _ in lines)
    while lines and overhead > chars // 2:  # too many lines to say anything: keep the newest
        overhead -= len(lines.pop(0)[0]) + 3
    cap = _fair_share([len(text) for _, text in lines], chars - overhead)
    return "\n".join(f"{role}: {_clip(text, cap)}" for role, text in lines)


async def summarize(
    model: BaseChatModel, summary: str, folded: Sequence[AnyMessage], budget: int
) -> tuple[str, int]:
    """The running summary with `folded` merged in; never streamed to the client.

    The request fits the budget (messages are clipped to their fair share of it), the reply
    is asked for in at most the summary's share (`max_tokens`), and the result is cut to
    that share whatever the model answers: a verbose or echoing model cannot make the
    summary grow from fold to fold.

    Args:
        model: The chat model.
        summary: The summary so far ("" if none).
        folded: The messages leaving the verbatim window.
        budget: The context budget, in estimated tokens.

    Returns:
        The new summary, within `summary_limit(budget)` as the model is sent it, and the
        tokens the call used.
    """
    limit = summary_limit(budget)
    room = (limit - estimate_tokens(summary_message("x"))) * _CHARS_PER_TOKEN
    # A summary stored under a larger budget (CONTEXT_TOKENS lowered since) is cut first.
    summary = _clip(summary, max(room, 0))
    fixed = estimate_tokens([SystemMessage(SUMMARY_INSTRUCTION), HumanMessage(summary)]) + 16
    chars = max(budget - limit - fixed, 0) * _CHARS_PER_TOKEN
    prompt = [
        SystemMessage(SUMMARY_INSTRUCTION),
        HumanMessage(
            f"Summary so far:\n{summary or '(none)'}\n\nNew messages:\n{_transcript(folded, chars)}"
        ),
    ]
    # Only the reply's own call writes tokens to the client (see `retry.stream_reply`);
    # TAG_NOSTREAM also keeps this call out of LangGraph's message stream, for any consumer.
    reply = await model.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]}, max_tokens=limit)
    text = str(reply.text).strip() or summary
    return _clip(text, max(room, 0)), tokens_spent(prompt, reply)
