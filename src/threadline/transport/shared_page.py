"""`/shared/{share_id}`: a shared conversation, for anyone with the link, without an account.

JSON (`Accept: application/json` or `?format=json`), or a small read-only page: built on
the server with every text escaped, styled by the chat page's CSS, under the same
Content-Security-Policy (no script runs on it at all).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter

from threadline.chat.features.shares import SharedConversation, ShareNotFound, Shares
from threadline.transport.services import services_of
from threadline.transport.web import SECURITY_HEADERS

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("shared_conversation",)

_SHARE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@get("/shared/{share_id:str}", opt={"public": True}, security=[{}], tags=["sharing"])
async def shared_conversation(
    request: Request[Any, Any, Any],
    share_id: FromPath[str],
    format: Annotated[
        Literal["json", "html"] | None, QueryParameter(description="json or html.")
    ] = None,
) -> Response[bytes]:
    """A shared conversation as it was when shared: a read-only page, or JSON."""
    if not _SHARE_ID.fullmatch(share_id):
        raise ShareNotFound
    shared = await _shares(request.app.state).read(share_id)
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
    if wants_json:
        return Response(msgspec.json.encode(shared), media_type=MediaType.JSON, headers=headers)
    return Response(_page(shared), media_type=MediaType.HTML, headers=headers)


def _shares(state: State) -> Shares:
    return services_of(state).chat.shares


def _page(shared: SharedConversation) -> bytes:
    title = html.escape(shared.title or "Shared conversation")
    items = "".join(
        f'<li class="message {m.role}"><div class="body">{html.escape(m.content)}</div></li>'
        for m in shared.messages
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title>"
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f'<body><main class="shared"><h1>{title}</h1>'
        f'<p class="status">Shared {html.escape(shared.created_at[:10])}; read-only.</p>'
        f'<ol class="messages">{items}</ol></main></body></html>'
    )
    return page.encode()
