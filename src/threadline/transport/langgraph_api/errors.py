"""Errors of the LangGraph API as the LangGraph server shapes them, with Threadline's code.

`{"detail": ..., "code": ...}`: the LangGraph clients read `detail`, and the statuses
they expect (404 for another user's thread as for a missing one, 409 for a taken id or a
busy thread, 422 for a body or parameter they sent wrong).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from threadline.chat.errors import (
    ChatError,
    ConversationBusy,
    ConversationExists,
    ConversationNotFound,
)
from threadline.chat.langgraph_api.threads import ThreadTaken
from threadline.chat.langgraph_api.user_store import InvalidStoreRequest
from threadline.transport.http_errors import ErrorBody, exception_handlers, refusal

__all__ = ("failure_response", "langgraph_errors", "status_of")

# The status of each refusal the LangGraph clients may meet (422 for any other).
_STATUS = {
    "conversation_not_found": HTTP_404_NOT_FOUND,
    "checkpoint_not_found": HTTP_404_NOT_FOUND,
    "unknown_assistant": HTTP_404_NOT_FOUND,
    "nothing_to_approve": HTTP_404_NOT_FOUND,
    "conversation_busy": HTTP_409_CONFLICT,
    "conversation_exists": HTTP_409_CONFLICT,  # a failure event's status (a stream's)
    "approval_pending": HTTP_409_CONFLICT,
    "too_many_turns": HTTP_429_TOO_MANY_REQUESTS,
    "rate_limited": HTTP_429_TOO_MANY_REQUESTS,
    "quota_exceeded": HTTP_429_TOO_MANY_REQUESTS,
    "shutting_down": HTTP_503_SERVICE_UNAVAILABLE,
    "storage_unavailable": HTTP_503_SERVICE_UNAVAILABLE,
    "llm_unavailable": HTTP_503_SERVICE_UNAVAILABLE,
}


def status_of(code: str) -> int:
    """The HTTP status of a refusal or failure, by Threadline's code."""
    return _STATUS.get(code, HTTP_422_UNPROCESSABLE_ENTITY)


def failure_response(
    code: str, detail: str, retry_after: float | None = None
) -> Response[ErrorBody]:
    """A failure told before a run's stream began, as the LangGraph server answers one."""
    return refusal(status_of(code), code, detail, retry_after)


def _respond(status: int, code: str, detail: str, field: str | None = None) -> Response[ErrorBody]:
    return Response(ErrorBody(code, detail, field), status_code=status)


def _validation(request: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    answered = exception_handlers[ValidationException](request, error)
    return Response(answered.content, status_code=HTTP_422_UNPROCESSABLE_ENTITY)


def _chat_error(request: Request[Any, Any, Any], error: ChatError) -> Response[ErrorBody]:
    if isinstance(error, ConversationNotFound):
        # Another user's thread answers exactly like one that does not exist.
        thread_id = request.path_params.get("thread_id")
        detail = f"Thread with ID {thread_id} not found" if thread_id else error.detail
        return _respond(HTTP_404_NOT_FOUND, error.code, detail)
    if isinstance(error, ConversationExists):  # a client's id another user holds
        return _respond(HTTP_409_CONFLICT, "thread_exists", "Thread already exists")
    if isinstance(error, ConversationBusy):
        return _respond(HTTP_409_CONFLICT, error.code, "Thread is busy: a run is in progress")
    if error.code in _STATUS:
        return refusal(_STATUS[error.code], error.code, error.detail, error.retry_after)
    return _respond(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", error.detail)


def _taken(_: Request[Any, Any, Any], __: ThreadTaken) -> Response[ErrorBody]:
    # Thread ids are global: taken by this user or another, the answer is the same.
    return _respond(HTTP_409_CONFLICT, "thread_exists", "Thread already exists")


def _store(_: Request[Any, Any, Any], error: InvalidStoreRequest) -> Response[ErrorBody]:
    return _respond(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", str(error))


langgraph_errors: ExceptionHandlersMap = {
    ValidationException: _validation,
    ChatError: _chat_error,
    ThreadTaken: _taken,
    InvalidStoreRequest: _store,
}
