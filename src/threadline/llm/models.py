"""The chat model: Groq when a key is set, the offline stand-in otherwise."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import groq
from langchain_core.language_models import BaseChatModel
from langchain_groq import ChatGroq
from pydantic import SecretStr

from threadline.llm.choices import ModelChoices
from threadline.llm.offline import OFFLINE_MODEL_NAME, OfflineChatModel
from threadline.settings import Settings

__all__ = ("chat_model", "chat_models", "with_client_retries", "with_model_name")

logger = logging.getLogger(__name__)


@asynccontextmanager
async def chat_model(settings: Settings) -> AsyncIterator[BaseChatModel]:
    """Provide the model every turn calls, closing its HTTP connections on exit.

    Args:
        settings: The Groq key, model, base URL and sampling settings.

    Yields:
        `ChatGroq` configured from settings, or `OfflineChatModel` when no key is set.
    """
    if settings.groq_api_key is None:
        logger.warning(
            "llm.offline",
            extra={"reason": "GROQ_API_KEY is not set; replies come from the offline model"},
        )
        yield OfflineChatModel()
        return
    logger.info("llm.groq", extra={"model": settings.groq_model, "base": settings.groq_api_base})
    # Our own client, so shutdown can close its pooled connections (ChatGroq never does).
    async with groq.DefaultAsyncHttpxClient() as http:
        yield _groq(settings, settings.groq_api_key.get(), http)


def _groq(settings: Settings, api_key: str, http: groq.DefaultAsyncHttpxClient) -> ChatGroq:
    return ChatGroq(
        model=settings.groq_model,
        api_key=SecretStr(api_key),
        base_url=settings.groq_api_base,
        temperature=settings.groq_temperature,
        max_tokens=settings.reply_max_tokens,
        # Retries happen in one layer only, ours (threadline.retry), which knows whether
        # tokens already reached the client.
        max_retries=0,
        timeout=settings.groq_timeout,
        http_async_client=http,
    )


def with_client_retries(model: BaseChatModel, settings: Settings) -> BaseChatModel:
    """The model for a graph of the user's: Groq's client retries GROQ_MAX_RETRIES times.

    Threadline's own graph retries in one layer, its own (`retry.stream_reply`), which
    knows whether tokens already went out; a graph of the user's calls the model itself.
    """
    if isinstance(model, ChatGroq):
        return model.model_copy(update={"max_retries": settings.groq_max_retries})
    return model


def with_model_name(model: BaseChatModel, name: str | None) -> BaseChatModel:
    """The same Groq client asking for another model (`name`); the offline model as is."""
    if name and isinstance(model, ChatGroq):
        return model.model_copy(update={"model_name": name})
    return model


def chat_models(model: BaseChatModel, choices: ModelChoices) -> dict[str, BaseChatModel]:
    """One chat model per model a conversation may choose, built once.

    Every Groq model shares `model`'s client and HTTP connections (a copy naming another
    model); the offline model is its own.
    """
    return {
        name: OfflineChatModel()
        if name == OFFLINE_MODEL_NAME and isinstance(model, ChatGroq)
        else with_model_name(model, name)
        for name in choices.allowed
    }
