r"""Bodies with a NUL character in a JSON string are refused before any handler runs.

PostgreSQL keeps no NUL in `text` or `jsonb`, and a thread's metadata, a store item's
value and the filters that search them all go there: one such character would fail the
statement. In JSON text a NUL can only be written `\u0000` (raw control characters are
not valid JSON), so the raw body is searched for that escape, not for an escaped
backslash followed by `u0000`.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from threadline.transport.rest import ApiError

__all__ = ("refuse_nul",)

_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """Refuse (422) a body that holds a NUL character in any of its strings."""
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and _NUL.search(await request.body()):
        detail = "the body must not contain NUL characters (\\u0000)"
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail)
