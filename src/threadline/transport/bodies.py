"""Request bodies: JSON that cannot be decoded is the client's error, however it fails.

Every route's JSON body is decoded in one of two ways: Litestar's (`JsonRequest.json`, for
a handler's `data`) or `decode_body` (the routes that read the bytes themselves, such as
the thread event stream's). Both say what is wrong through `undecodable`, so no byte
string is an HTTP 500.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException

__all__ = ("NO_BODY", "JsonRequest", "decode_body", "undecodable")

NO_BODY = "the request needs a JSON body (it was empty or null)"


def undecodable(error: BaseException) -> str | None:
    """What is wrong with a body whose decoding raised `error`; None if not the body's fault.

    msgspec raises `UnicodeDecodeError` for bytes that are not UTF-8 and recurses once per
    level of nesting (`RecursionError` near a thousand levels, two kilobytes of brackets);
    Litestar only translates its `DecodeError`s, so without this both were an HTTP 500.
    """
    if isinstance(error, UnicodeDecodeError):
        return "the body is not valid JSON: it is not UTF-8 text"
    if isinstance(error, RecursionError):
        return "the body is not valid JSON: it is nested too deeply"
    if isinstance(error, msgspec.DecodeError):
        return f"the body is not valid JSON: {error}"
    return None


def decode_body(body: bytes, kind: Any) -> Any:
    """The body as `kind`, for a route that reads its bytes itself.

    Raises:
        ValueError: The body is empty, not JSON or not of that shape; its text says why.
    """
    if not body.strip():
        raise ValueError(NO_BODY)
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        raise ValueError(str(error)) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(undecodable(error)) from None


class JsonRequest(Request[Any, Any, Any]):
    """Litestar's request, with every body that is not JSON answered as a 400."""

    async def json(self) -> Any:
        """The body decoded as JSON.

        Raises:
            ClientException: The body is empty or null, not UTF-8, or nested too deeply to
                decode (a 400; Litestar answers other malformed JSON itself).
        """
        try:
            value = await super().json()
        except (UnicodeDecodeError, RecursionError) as error:
            raise ClientException(undecodable(error)) from None
        if value is None:
            raise ClientException(NO_BODY)
        return value
