"""How a failed turn is shown to the client: a stable code and whether a retry may help."""

from __future__ import annotations

from typing import NamedTuple

import groq
import httpx

from threadline.protocol import ErrorCode

__all__ = ("TurnFailure", "classify")


class TurnFailure(NamedTuple):
    """What the client is told about an exception raised during a turn."""

    code: ErrorCode
    detail: str
    retryable: bool


def classify(error: BaseException) -> TurnFailure:
    """Map an exception raised while running a turn to the error the client sees.

    Args:
        error: The exception; its message is not shown, as it may quote internals.

    Returns:
        The code, a safe human-readable detail, and whether retrying may succeed.
    """
    if isinstance(error, groq.APIStatusError):
        status = error.status_code
        # Rate limits and server errors pass; any other 4xx will fail the same way again.
        transient = status == 429 or status >= 500
        return TurnFailure("llm_error", f"the model provider answered HTTP {status}", transient)
    if isinstance(error, groq.APIConnectionError | httpx.TransportError):
        return TurnFailure("llm_error", "the model provider could not be reached", True)
    return TurnFailure("internal_error", "the server failed to complete this turn", False)
