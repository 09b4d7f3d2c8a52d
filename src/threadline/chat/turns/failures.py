"""Every failure a client hears of becomes an `error` event here, and only here.

A refusal of the service (`ChatError`) says what it is. Anything else raised while serving
a request or running a turn is classified by cause (the model, the database, a bug) into
a stable code and a detail safe to show: the exception's own message may quote internals,
so it is never sent, and it is logged only for a bug, with its traceback.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import groq
import httpx
import psycopg
import psycopg_pool

from threadline.chat.errors import ApprovalPendingError, ChatError
from threadline.chat.events import ErrorCode, Failed
from threadline.engine.approvals import ApprovalPending
from threadline.llm.errors import IncompleteReply, is_transient_llm_error

__all__ = ("STORAGE_ERRORS", "Failure", "classify", "failed")

logger = logging.getLogger(__name__)

STORAGE_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)


class Failure(NamedTuple):
    """What the client is told about an exception."""

    code: ErrorCode
    detail: str
    retryable: bool
    retry_after: float | None = None
    interrupt_id: str | None = None  # what an `approval_pending` conversation waits for


def classify(error: BaseException) -> Failure:  # noqa: PLR0911 - a flat dispatch table
    """Map an exception to the error the client sees.

    Args:
        error: The exception; its message is not shown, as it may quote internals.

    Returns:
        The code, a safe human-readable detail, and whether retrying may succeed.
    """
    if isinstance(error, ApprovalPendingError):
        return Failure(error.code, error.detail, False, None, error.interrupt_id)
    if isinstance(error, ChatError):
        return Failure(error.code, error.detail, error.retryable, error.retry_after)
    if isinstance(error, ApprovalPending):
        return classify(ApprovalPendingError(error.interrupt_id))
    if isinstance(error, groq.APIStatusError):
        status = error.status_code
        detail = f"the model provider answered HTTP {status}"
        if is_transient_llm_error(error):
            return Failure("llm_unavailable", detail, True)
        return Failure("llm_error", detail, False)
    if isinstance(error, IncompleteReply | httpx.RemoteProtocolError):
        return Failure("llm_unavailable", "the model's reply broke off midway", True)
    if isinstance(error, groq.APIConnectionError | httpx.TransportError):
        return Failure("llm_unavailable", "the model provider could not be reached", True)
    if isinstance(error, TimeoutError):
        return Failure("llm_unavailable", "the model did not answer in time", True)
    if isinstance(error, STORAGE_ERRORS):
        return Failure("storage_unavailable", "the database is unavailable", True)
    return Failure("internal_error", "the server failed to complete this turn", False)


def failed(error: BaseException, conversation_id: str | None, event: str) -> Failed:
    """The `error` event a client gets for `error`; failures not of its making are logged.

    Args:
        error: What was raised.
        conversation_id: The conversation concerned, if any.
        event: The log event naming what failed (`turn.failed`, `request.failed`).

    Returns:
        The error event.
    """
    failure = classify(error)
    if not isinstance(error, ChatError | ApprovalPending):
        logger.warning(
            event,
            exc_info=failure.code == "internal_error",
            extra={"conversation_id": conversation_id, "code": failure.code},
        )
    return Failed(
        failure.code,
        failure.detail,
        failure.retryable,
        conversation_id,
        failure.retry_after,
        failure.interrupt_id,
    )
