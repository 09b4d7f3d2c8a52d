"""The chat model: Groq when a key is set, the offline stand-in otherwise."""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel
from langchain_groq import ChatGroq
from pydantic import SecretStr

from threadline.offline import OfflineChatModel
from threadline.settings import Settings

__all__ = ("build_chat_model",)

logger = logging.getLogger(__name__)


def build_chat_model(settings: Settings) -> BaseChatModel:
    """Build the model every turn calls.

    Args:
        settings: The Groq key, model, base URL and sampling settings.

    Returns:
        `ChatGroq` configured from settings, or `OfflineChatModel` when no key is set.
    """
    if settings.groq_api_key is None:
        logger.warning(
            "llm.offline",
            extra={"reason": "GROQ_API_KEY is not set; replies come from the offline model"},
        )
        return OfflineChatModel()
    logger.info("llm.groq", extra={"model": settings.groq_model, "base": settings.groq_api_base})
    return ChatGroq(
        model=settings.groq_model,
        api_key=SecretStr(settings.groq_api_key.get()),
        base_url=settings.groq_api_base,
        temperature=settings.groq_temperature,
        max_tokens=settings.groq_max_tokens,
        max_retries=settings.groq_max_retries,
        timeout=settings.groq_timeout,
    )
