"""The chat page at `/`, and its files under `/static/`: packaged, no CDN, no build step.

The page is plain HTML, CSS and JavaScript modules in `threadline/web/`, served as they
are, but for the version its footer shows (`{{version}}`, filled in once). Its
Content-Security-Policy lets it load and run only this server's own files and talk only to
this server, so even a reply or title that slipped through as markup could not run a
script: defence in depth behind the page's own escaping.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.router import Router
from litestar.static_files import create_static_files_router

from threadline.version import VERSION

__all__ = ("SECURITY_HEADERS", "WEB_DIRECTORY", "chat_page", "page_assets")

WEB_DIRECTORY = Path(__file__).resolve().parent.parent / "web"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _page() -> bytes:
    page = (WEB_DIRECTORY / "index.html").read_text(encoding="utf-8")
    return page.replace("{{version}}", html.escape(VERSION)).encode()


@get("/", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def chat_page() -> Response[bytes]:
    """The chat page: sign in, conversations, streaming replies."""
    return Response(
        _page(),
        media_type=MediaType.HTML,
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


def page_assets() -> Router:
    """`/static/…`: the page's scripts and styles (revalidated, so an upgrade shows)."""
    return create_static_files_router(
        path="/static",
        directories=[WEB_DIRECTORY],
        opt={"public": True},
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
    )
