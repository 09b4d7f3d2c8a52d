"""Who may open what: credentials, the path's user, browser origins and socket seats.

One ASGI middleware guards every route; of those marked `opt={"public": True}` it only
checks the Host. It runs after routing, so it sees the path's `user_id`, and before the
handler, so a refused WebSocket is refused at the handshake: no frame is exchanged,
nothing is stored. What browsers' requests are refused for, and why: `origins`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware

from threadline.identity.principal import TRUSTED, Principal, Unauthenticated
from threadline.settings import Settings
from threadline.transport.origins import (
    SAFE_METHODS,
    body_type_refused,
    is_loopback_host,
    origin_allowed,
)
from threadline.transport.services import Services, services_of

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ("AccessControl", "Refusal", "principal_of")


class Refusal(Exception):
    """A request that may not go on: answered with `status` and `{"code", "detail"}`."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        super().__init__(detail)


def principal_of(scope: Scope | Any) -> Principal:
    """The principal the middleware admitted the connection as."""
    principal: Principal = scope["user"]
    return principal


class AccessControl(ASGIMiddleware):
    """Admits a request or handshake, or refuses it before the handler runs."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Check the caller, then run the handler (holding a socket seat, if limited)."""
        services = services_of(scope["litestar_app"].state)
        headers = _headers(scope)
        seat = None
        try:
            _check_host(headers, services.settings)
            if not scope["route_handler"].opt.get("public"):
                scope["user"] = await _admit(scope, headers, services)
                seat = await _seat(scope, headers, services)
        except Refusal as refusal:
            await _refuse(scope, send, refusal)
            return
        try:
            await next_app(scope, receive, send)
        finally:
            if seat is not None and services.seats is not None:
                await services.seats.release(seat)


async def _admit(scope: Scope, headers: dict[str, str], services: Services) -> Principal:
    socket = scope["type"] == ScopeType.WEBSOCKET
    if socket and services.chat.draining:
        detail = "this server is shutting down; connect again (to another server)"
        raise Refusal(503, "shutting_down", detail)
    writes = socket or scope.get("method") not in SAFE_METHODS
    if writes and not origin_allowed(headers, services.settings.origins):
        raise Refusal(403, "forbidden_origin", "this origin may not open sockets or write here")
    try:
        principal = await _authenticate(scope, headers, services)
    except Unauthenticated as error:
        raise Refusal(401, "unauthenticated", error.detail) from None
    user_id = scope["path_params"].get("user_id")
    if user_id is not None and not principal.may_act_for(user_id):
        raise Refusal(403, "forbidden", "this credential may not act for this user")
    opt = scope["route_handler"].opt
    if opt.get("admin") and (not principal.admin or principal.via == "none"):
        # With AUTH_MODE=none nobody is an admin: keys made then would outlive the mode.
        raise Refusal(403, "forbidden", "this endpoint needs an admin API key")
    if opt.get("operator") and services.identity.on and not principal.admin:
        # Open like everything else without authentication; an admin's once it is on.
        raise Refusal(403, "forbidden", "this endpoint needs an admin API key")
    if not socket and (expected := body_type_refused(scope["route_handler"], headers)):
        detail = f"this route takes a body of type {expected} (Content-Type: {expected})"
        raise Refusal(415, "unsupported_media_type", detail)
    return principal


async def _authenticate(scope: Scope, headers: dict[str, str], services: Services) -> Principal:
    identity = services.identity
    if not identity.on:
        return TRUSTED  # whatever headers a gateway in front passes along
    if scope["type"] == ScopeType.WEBSOCKET:
        tickets = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
        if tickets:
            return await identity.ticket(tickets[0])
    return await identity.credential(_credential(headers))


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


def _credential(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("the Authorization header must read `Bearer <credential>`")
        return value.strip()
    return headers.get("x-api-key", "").strip() or None


def _check_host(headers: dict[str, str], settings: Settings) -> None:
    """With AUTH_MODE=none on a loopback HOST, refuse a Host naming anything but loopback.

    Only there does a page that reached this server by DNS rebinding get anything: with
    credentials required it has none, and a proxy in front may pass its public name.
    """
    host = headers.get("host")
    trusting = settings.auth_mode == "none" and settings.loopback
    if trusting and host is not None and not is_loopback_host(host):
        detail = "this server listens on loopback and answers to loopback names only"
        raise Refusal(400, "invalid_host", detail)


async def _seat(scope: Scope, headers: dict[str, str], services: Services) -> str | None:
    """The seat a socket holds while open, if seats are limited.

    Its path's user's, or for a route naming no user, the one its `seat_user` opt finds
    from the principal and headers.
    """
    if scope["type"] != ScopeType.WEBSOCKET or services.seats is None:
        return None
    user_id = scope["path_params"].get("user_id")
    if user_id is None and (find := scope["route_handler"].opt.get("seat_user")) is not None:
        user_id = find(principal_of(scope), headers)
    if user_id is None:
        return None
    seat = await services.seats.claim(user_id)
    if seat is None:
        limit = services.settings.max_sockets_per_user
        detail = f"this user already has {limit} sockets open (MAX_SOCKETS_PER_USER)"
        raise Refusal(429, "too_many_sockets", detail)
    return seat


async def _refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    """Answer with the refusal: an HTTP response, also to a WebSocket handshake.

    A server without the ASGI WebSocket denial extension cannot answer a handshake with
    a status of its own, so there the socket is accepted and closed at once with
    4000 + status (4401, 4403), no frame sent.
    """
    body = msgspec.json.encode({"code": refusal.code, "detail": refusal.detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if refusal.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="threadline"'))
    if scope["type"] != ScopeType.WEBSOCKET:
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
    elif "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {"type": "websocket.http.response.start", "status": refusal.status, "headers": headers}
        )
        await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
        await send(
            {"type": "websocket.close", "code": 4000 + refusal.status, "reason": refusal.code}
        )
