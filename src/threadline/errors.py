"""How a failed turn is shown to the client: a stable code and whether a retry may help."""

from __future__ import annotations

from typing import NamedTuple

import groq
import httpx
import psycopg
import psycopg_pool

from threadline.protocol import ErrorCode

__all__ = ("STORAGE_ERRORS", "IncompleteReply", "TurnFailure", "classify", "is_transient_llm_error")


class IncompleteReply(Exception):
    """The model's stream ended without a finish reason: what arrived is not a whole reply."""


class TurnFailure(NamedTuple):
    """What the client is told about an exception raised during a turn."""

    code: ErrorCode
    detail: str
    retryable: bool


STORAGE_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)


def is_transient_llm_error(error: BaseException) -> bool:
    """Whether the same model request may succeed if sent again."""
    if isinstance(error, groq.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, groq.APIConnectionError | httpx.TransportError | IncompleteReply)


def classify(error: BaseException) -> TurnFailure:  # noqa: PLR0911 - a flat dispatch table
    """Map an exception raised while running a turn to the error the client sees.

    Args:
        error: The exception; its message is not shown, as it may quote internals.

    Returns:
        The code, a safe human-readable detail, and whether retrying may succeed.
    """
    if isinstance(error, groq.APIStatusError):
        status = error.status_code
        detail = f"the model provider answered HTTP {status}"
        if is_transient_llm_error(error):
            return TurnFailure("llm_unavailable", detail, True)
        return TurnFailure("llm_error", detail, False)
    if isinstance(error, IncompleteReply | httpx.RemoteProtocolError):
        return TurnFailure("llm_unavailable", "the model's reply broke off midway", True)
    if isinstance(error, groq.APIConnectionError | httpx.TransportError):
        return TurnFailure("llm_unavailable", "the model provider could not be reached", True)
    if isinstance(error, TimeoutError):
        return TurnFailure("llm_unavailable", "the model did not answer in time", True)
    if isinstance(error, STORAGE_ERRORS):
        return TurnFailure("storage_unavailable", "the database is unavailable", True)
    return TurnFailure("internal_error", "the server failed to complete this turn", False)
