"""Health, readiness and presence: what a load balancer or an operator asks of a server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

import msgspec
from litestar import Response, get
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from threadline.transport.params import UserId
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("ConnectionStatus", "Health", "health", "ready", "user_status")


class ConnectionStatus(msgspec.Struct):
    """Whether a user has sockets open on this server."""

    user_id: str
    connected: bool
    connections: int


@get("/ws/users/{user_id:str}/status", sync_to_thread=False)
def user_status(user_id: UserId, state: State) -> ConnectionStatus:
    """Report whether `user_id` has at least one socket open on this server.

    Args:
        user_id: The user to look up.
        state: Application state holding the presence registry.

    Returns:
        The user's status.
    """
    count = services_of(state).presence.connections(user_id)
    return ConnectionStatus(user_id=user_id, connected=count > 0, connections=count)


class Health(msgspec.Struct, omit_defaults=True):
    """Liveness or readiness."""

    status: Literal["ok", "ready", "unavailable"]
    detail: str | None = None


@get("/health", sync_to_thread=False, opt={"public": True}, security=[{}])
def health() -> Health:
    """Liveness: the process is up and serving requests."""
    return Health("ok")


@get("/ready", opt={"public": True}, security=[{}])
async def ready(state: State) -> Response[Health]:
    """Readiness: the database answers. 503 while it does not (the pool reconnects alone).

    Args:
        state: Application state holding the pool.

    Returns:
        200 when ready, 503 otherwise.
    """
    pool = services_of(state).pool
    try:
        async with asyncio.timeout(2), pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means not ready
        unavailable = Health("unavailable", "the database is unreachable")
        return Response(unavailable, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(Health("ready"))
