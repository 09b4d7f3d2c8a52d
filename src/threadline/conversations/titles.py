"""Automatic conversation titles: a short summary by the model, or the first line offline."""

from __future__ import annotations

import logging
import unicodedata

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

__all__ = (
    "MAX_TITLE_CHARS",
    "TITLE_INSTRUCTION",
    "fallback_title",
    "make_title",
    "visible_title",
)

logger = logging.getLogger(__name__)

TITLE_INSTRUCTION = (
    "Write a title of at most six words for a conversation that begins with the user's "
    "message below. Answer with the title only, without quotes."
)
MAX_TITLE_CHARS = 200
_SHORT = 60
_MAX_PROMPT_CHARS = 2000
# Control and format characters, and unpaired surrogates: nothing to see, but U+202E turns
# the text after it right to left, and zero-width ones make two titles look alike.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs"})
# Zero-width (non-)joiners: format characters that shape emoji (👩‍💻) and some scripts.
_JOINERS = frozenset({"\u200c", "\u200d"})


def visible_title(text: str) -> str:
    """`text` as a title (of a conversation or a document): one line of what can be seen.

    Any whitespace (line breaks, tabs, no-break spaces) becomes one space; control and
    format characters (bidirectional overrides and isolates, zero-width spaces, byte order
    marks) are dropped, except the zero-width joiners; the ends are trimmed.
    """
    kept = "".join(
        char
        for char in text
        if char.isspace() or char in _JOINERS or unicodedata.category(char) not in _INVISIBLE
    )
    return " ".join(kept.split())


def fallback_title(first_message: str) -> str:
    """The message's first line with anything visible, shortened at a word boundary."""
    # A title is read from the message's start: a message of megabytes costs no more.
    lines = (visible_title(line) for line in first_message[:_MAX_PROMPT_CHARS].splitlines())
    line = next((line for line in lines if line), "")
    if len(line) <= _SHORT:
        return line
    cut = line[:_SHORT].rsplit(" ", 1)[0] or line[:_SHORT]
    return cut + "…"


def _clean(text: str) -> str:
    text = text[:_MAX_PROMPT_CHARS].strip()
    line = visible_title(text.splitlines()[0]) if text else ""
    return line.strip("\"'*#`").strip()[:MAX_TITLE_CHARS]


async def make_title(model: BaseChatModel | None, first_message: str) -> str:
    """A title for a conversation that begins with `first_message`.

    Args:
        model: The model to summarize with; None (offline) uses the first line.
        first_message: The conversation's first user message.

    Returns:
        A short title; the first line of the message if the model fails or says nothing.
    """
    fallback = fallback_title(first_message)
    if model is None:
        return fallback
    prompt = [SystemMessage(TITLE_INSTRUCTION), HumanMessage(first_message[:_MAX_PROMPT_CHARS])]
    try:
        reply = await model.ainvoke(prompt)
    except Exception as error:  # noqa: BLE001 - a title is a nicety; the fallback is fine
        logger.warning("title.failed", extra={"error": type(error).__name__})
        return fallback
    return _clean(str(reply.text)) or fallback
