"""A caller's own access: WebSocket tickets for browsers, and usage against the limits."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, get, post

from threadline.storage.usage import DayUsage, today
from threadline.transport.access import principal_of
from threadline.transport.params import UserId
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("Usage", "WsTicket", "issue_ws_ticket", "usage")

_USAGE_DAYS = 30


class WsTicket(msgspec.Struct):
    """A single-use ticket for one socket: pass it as `?ticket=` on the socket's URL."""

    ticket: str
    expires_in: int


class Usage(msgspec.Struct):
    """A user's use of the model: today against the quota, and the last 30 days."""

    user_id: str
    day: date
    tokens_today: int
    messages_today: int
    # Null when DAILY_TOKEN_QUOTA is unset.
    daily_token_quota: int | None
    remaining_today: int | None
    days: list[DayUsage]


@post("/auth/ws-ticket", status_code=200, tags=["auth"])
async def issue_ws_ticket(request: Request[Any, Any, Any], state: State) -> WsTicket:
    """Trade this request's credential for a WebSocket ticket, valid once and briefly.

    Browsers cannot set headers on a WebSocket; they call this with their token, then
    open `/ws/{user_id}?ticket=…`. The socket lives as long as the token would have.
    """
    tickets = services_of(state).identity.tickets
    ticket = await tickets.issue(principal_of(request.scope))
    return WsTicket(ticket=ticket, expires_in=tickets.seconds)


@get("/users/{user_id:str}/usage", tags=["users"])
async def usage(state: State, user_id: UserId) -> Usage:
    """The user's model tokens and messages per UTC day, and what is left of today's quota."""
    services = services_of(state)
    days = await services.limits.usage.days(user_id, _USAGE_DAYS)
    current = days[0] if days and days[0].day == today() else DayUsage(today(), 0, 0)
    quota = services.settings.daily_token_quota
    return Usage(
        user_id=user_id,
        day=current.day,
        tokens_today=current.tokens,
        messages_today=current.messages,
        daily_token_quota=quota,
        remaining_today=None if quota is None else max(quota - current.tokens, 0),
        days=days,
    )
