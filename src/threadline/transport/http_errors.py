"""HTTP errors as `{"code", "detail", "field"?}` with stable codes, and never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from threadline.chat.errors import (
    ChatError,
    ConversationNotFound,
    MessageNotFound,
    UnknownModel,
)
from threadline.chat.features.imports import ImportRefused
from threadline.chat.features.shares import (
    NothingToShare,
    ShareNotFound,
    SharingError,
    TooManyShares,
)
from threadline.chat.turns.failures import STORAGE_ERRORS
from threadline.knowledge.errors import (
    DocumentNotFound,
    DocumentStorageFull,
    DocumentTooLarge,
    EmptyDocument,
    KnowledgeError,
    MemoryDisabled,
    MemoryNotFound,
    TooManyDocuments,
    TooManyMemories,
    TooManyUploads,
    UnsupportedDocument,
)
from threadline.transport.bodies import NO_BODY
from threadline.transport.knowledge import upload_refused
from threadline.transport.rest import ApiError

__all__ = ("ErrorBody", "exception_handlers", "refusal", "retry_seconds")

logger = logging.getLogger(__name__)


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """The body of every HTTP error."""

    code: str
    detail: str
    field: str | None = None
    retry_after: int | None = None  # a limit's refusal: the seconds to wait before again


def retry_seconds(retry_after: float | None) -> int | None:
    """A retry hint as the whole seconds a client waits (at least one); None without one."""
    return None if retry_after is None else max(1, round(retry_after))


def refusal(status: int, code: str, detail: str, retry_after: float | None) -> Response[ErrorBody]:
    """A refusal, with when to try again (`Retry-After` and `retry_after`) if a limit says."""
    seconds = retry_seconds(retry_after)
    response = Response(ErrorBody(code, detail, retry_after=seconds), status_code=status)
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


def _respond(status: int, code: str, detail: str, field: str | None = None) -> Response[ErrorBody]:
    return Response(ErrorBody(code, detail, field), status_code=status)


def _api_error(_: Request[Any, Any, Any], error: ApiError) -> Response[ErrorBody]:
    return _respond(error.status_code, error.code, error.detail, error.field)


# What a request that starts a turn over REST (an edit) may be refused for, by code.
_TURN_REFUSALS = {
    "message_not_found": 404,
    "conversation_busy": 409,
    "approval_pending": 409,
    "too_many_turns": 429,
    "rate_limited": 429,
    "quota_exceeded": 429,
    "shutting_down": 503,
}


def _chat_error(_: Request[Any, Any, Any], error: ChatError) -> Response[ErrorBody]:
    # Another user's conversation answers exactly like one that does not exist.
    if isinstance(error, ConversationNotFound | MessageNotFound):
        return _respond(HTTP_404_NOT_FOUND, error.code, error.detail)
    if isinstance(error, UnknownModel):
        return _respond(HTTP_400_BAD_REQUEST, error.code, error.detail, "model")
    if (status := _TURN_REFUSALS.get(error.code)) is not None:
        return refusal(status, error.code, error.detail, error.retry_after)
    return _respond(HTTP_400_BAD_REQUEST, "invalid_request", error.detail)


_KNOWLEDGE_STATUS: dict[type[KnowledgeError], int] = {
    # Another user's memory or document answers exactly like one that does not exist.
    MemoryNotFound: 404,
    DocumentNotFound: 404,
    MemoryDisabled: 404,
    TooManyMemories: 409,
    UnsupportedDocument: 415,
    EmptyDocument: 422,
    DocumentTooLarge: 413,
    TooManyDocuments: 409,
    DocumentStorageFull: 413,
    TooManyUploads: 429,
}


def _knowledge_error(_: Request[Any, Any, Any], error: KnowledgeError) -> Response[ErrorBody]:
    return _respond(_KNOWLEDGE_STATUS.get(type(error), 400), error.code, error.detail)


_SHARING_STATUS: dict[type[SharingError], int] = {
    ShareNotFound: 404,
    NothingToShare: 409,
    TooManyShares: 409,
}


def _sharing_error(_: Request[Any, Any, Any], error: SharingError) -> Response[ErrorBody]:
    return _respond(_SHARING_STATUS.get(type(error), 400), error.code, error.detail)


def _import_refused(_: Request[Any, Any, Any], error: ImportRefused) -> Response[ErrorBody]:
    status = HTTP_413_REQUEST_ENTITY_TOO_LARGE if error.code == "import_too_large" else 400
    return _respond(status, error.code, error.detail)


def _validation(_: Request[Any, Any, Any], error: ValidationException) -> Response[ErrorBody]:
    problems = error.extra if isinstance(error.extra, list) else []
    first = problems[0] if problems and isinstance(problems[0], dict) else {}
    field = first.get("key") or None
    message = first.get("message") or error.detail
    if field == "data" and message == "'data'":  # Litestar leaves `data` out of an empty body
        return _respond(HTTP_400_BAD_REQUEST, "invalid_request", NO_BODY)
    detail = f"{field}: {message}" if field else str(message)
    return _respond(HTTP_400_BAD_REQUEST, "invalid_request", detail, field)


def _http(request: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorBody]:
    if error.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE and upload_refused(request):
        detail = "the document is larger than this server accepts (DOCUMENT_MAX_BYTES)"
        return _respond(error.status_code, DocumentTooLarge.code, detail)
    if isinstance(error, NotFoundException):
        return _respond(error.status_code, "not_found", "no such resource")
    if isinstance(error, MethodNotAllowedException):
        return _respond(error.status_code, "method_not_allowed", error.detail)
    if error.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        detail = "the request body is larger than this route accepts"
        return _respond(error.status_code, "body_too_large", detail)
    if error.status_code == HTTP_400_BAD_REQUEST:  # e.g. a body that is not JSON
        # Litestar's multipart parser says this (a 400) of a part's headers past its bound.
        too_long = error.detail == "Request Entity Too Large"
        told = "a part's headers (such as the file's name) are too long" if too_long else None
        return _respond(error.status_code, "invalid_request", told or error.detail)
    return _respond(error.status_code, "http_error", error.detail)


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[ErrorBody]:
    if isinstance(error, STORAGE_ERRORS):
        detail = "the database is unavailable"
        return _respond(HTTP_503_SERVICE_UNAVAILABLE, "storage_unavailable", detail)
    logger.error("http.failed", exc_info=error, extra={"path": request.url.path})
    detail = "the server failed to handle this request"
    return _respond(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", detail)


exception_handlers: ExceptionHandlersMap = {
    ApiError: _api_error,
    ChatError: _chat_error,
    KnowledgeError: _knowledge_error,
    SharingError: _sharing_error,
    ImportRefused: _import_refused,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
