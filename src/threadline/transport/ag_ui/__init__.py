"""AG-UI: `POST /ag-ui`, the protocol of CopilotKit and the AG-UI clients, as an edge.

A run is a Threadline turn (`runs.py`); its `RunAgentInput` is set against the stored
thread (`inputs.py`); the turn's events become AG-UI events (`render.py`). Nothing of
AG-UI is outside this package.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_422_UNPROCESSABLE_ENTITY

from threadline.transport.ag_ui.runs import run_agent, run_assistant
from threadline.transport.http_errors import ErrorBody, exception_handlers

__all__ = ("MAX_BODY_BYTES", "ag_ui_router")

# AG-UI clients send the whole conversation with every run.
MAX_BODY_BYTES = 8 * 1024 * 1024


def _unprocessable(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """A body that is not JSON, or not an object, answered as AG-UI's servers do: 422."""
    handler = exception_handlers[
        type(error) if isinstance(error, ValidationException) else HTTPException
    ]
    answered: Response[ErrorBody] = handler(request, error)
    status = answered.status_code
    return Response(
        answered.content,
        status_code=HTTP_422_UNPROCESSABLE_ENTITY if status == HTTP_400_BAD_REQUEST else status,
    )


def ag_ui_router() -> Router:
    """The AG-UI routes, bad bodies answered 422 `{"code", "detail", "field"?}`."""
    return Router(
        "/",
        route_handlers=[run_agent, run_assistant],
        exception_handlers={ValidationException: _unprocessable, HTTPException: _unprocessable},
        request_max_body_size=MAX_BODY_BYTES,
    )
