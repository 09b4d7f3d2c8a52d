"""What a browser's request says about where it comes from: its Host, Origin and body type.

Browsers let any page send some requests to any server: a socket handshake, and a POST
of plain text, a form or a multipart upload, without asking first (no CORS preflight).
The page cannot read the answer, but the write is done. With AUTH_MODE=none nothing else
stands between such a page and a user's data, so the access middleware refuses:

- with AUTH_MODE=none on a loopback HOST, a `Host` that is not a loopback name: a page
  whose own name was made to resolve to 127.0.0.1 (DNS rebinding) names itself;
- a socket, or a request that may change something, from an `Origin` that is neither
  listed (ALLOWED_ORIGINS) nor this server's own, or from a browser that does not say
  where it comes from (it sends `Sec-Fetch-Site` but no `Origin`); programs (curl, SDKs)
  send neither header and are not affected;
- a body whose `Content-Type` is not the one its route takes, so JSON sent as text/plain
  (the type a page may send without asking) is refused rather than read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from litestar.enums import RequestEncodingType

__all__ = ("SAFE_METHODS", "body_type_refused", "is_loopback_host", "origin_allowed")

# Methods that change nothing: a foreign page may send them, and cannot read the answer.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback_host(host: str) -> bool:
    """Whether a `Host` header (a port allowed) names this machine's loopback.

    `localhost` and its subdomains (which browsers resolve to loopback themselves), and
    loopback addresses: names no page on another site can be served under.
    """
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")]
    else:
        bare, colon, port = name.rpartition(":")
        name = bare if colon and port.isdigit() else name
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin_allowed(headers: Mapping[str, str], allowed: frozenset[str]) -> bool:
    """Whether a browser page at the request's `Origin` may open sockets or write here.

    Args:
        headers: The request's headers, names in lower case.
        allowed: ALLOWED_ORIGINS, normalized ("*": any).
    """
    origin = headers.get("origin")
    if "*" in allowed:
        return True
    if origin is None:
        # Browsers send Origin on every socket and every request that may change
        # something; one that says it is a browser (Sec-Fetch-*) must say from where.
        return "sec-fetch-site" not in headers
    origin = origin.strip().rstrip("/").lower()
    # Listed, or the page came from this very server (its Host checked, on loopback).
    return origin in allowed or urlsplit(origin).netloc == headers.get("host", "").lower()


def body_type_refused(handler: Any, headers: Mapping[str, str]) -> str | None:
    """The media type `handler` takes, if the request's body is declared as another.

    A request without a body passes: the handler says what is missing.
    """
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    media = getattr(data.kwarg_definition, "media_type", None) or RequestEncodingType.JSON
    expected = str(getattr(media, "value", media))
    declared = headers.get("content-type")
    bodiless = headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers
    if declared is None and bodiless:
        return None
    media_type = (declared or "").partition(";")[0].strip().lower()
    return None if media_type == expected else expected
