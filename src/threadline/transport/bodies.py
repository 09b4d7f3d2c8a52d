"""Request bodies: JSON that cannot be decoded is the client's error, however it fails."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException

__all__ = ("JsonRequest",)


class JsonRequest(Request[Any, Any, Any]):
    """Litestar's request, with JSON nested too deeply for the decoder answered as a 400.

    msgspec recurses once per level of nesting and raises `RecursionError` near a thousand
    levels (two kilobytes of brackets); Litestar only translates decode errors, so without
    this such a body was an HTTP 500.
    """

    async def json(self) -> Any:
        """The body decoded as JSON.

        Raises:
            ClientException: The body is nested too deeply to decode (a 400).
        """
        try:
            return await super().json()
        except RecursionError:
            detail = "the body is not valid JSON: it is nested too deeply"
            raise ClientException(detail) from None
