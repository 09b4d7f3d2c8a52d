"""Model failures: which are worth sending the same request again for."""

from __future__ import annotations

import groq
import httpx

__all__ = ("IncompleteReply", "is_transient_llm_error")


class IncompleteReply(Exception):
    """The model's stream ended without a finish reason: what arrived is not a whole reply."""


def is_transient_llm_error(error: BaseException) -> bool:
    """Whether the same model request may succeed if sent again."""
    if isinstance(error, groq.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, groq.APIConnectionError | httpx.TransportError | IncompleteReply)
