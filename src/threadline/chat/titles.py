"""Automatic conversation titles: a short summary by the model, or the first line offline."""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

__all__ = ("MAX_TITLE_CHARS", "TITLE_INSTRUCTION", "fallback_title", "make_title")

logger = logging.getLogger(__name__)

TITLE_INSTRUCTION = (
    "Write a title of at most six words for a conversation that begins with the user's "
    "message below. Answer with the title only, without quotes."
)
MAX_TITLE_CHARS = 200
_SHORT = 60
_MAX_PROMPT_CHARS = 2000


def fallback_title(first_message: str) -> str:
    """The first line of the message, shortened at a word boundary."""
    line = " ".join(first_message.strip().splitlines()[0].split()) if first_message.strip() else ""
    if len(line) <= _SHORT:
        return line
    cut = line[:_SHORT].rsplit(" ", 1)[0] or line[:_SHORT]
    return cut + "…"


def _clean(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line.strip().strip("\"'*#`").strip()[:MAX_TITLE_CHARS]


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
