"""Health, readiness and presence: what a load balancer or an operator asks of a server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

import msgspec
from litestar import Response, get
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from threadline.transport.params import UserId
from threadline.transport.services import services_of
from threadline.version import VERSION

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("ConnectionStatus", "Health", "health", "ready", "user_status")


class ConnectionStatus(msgspec.Struct):
    """Whether a user has sockets open, on any server process."""

    user_id: str
    connected: bool
    connections: int


@get("/ws/users/{user_id:str}/status")
async def user_status(user_id: UserId, state: State) -> ConnectionStatus:
    """Report whether `user_id` has at least one socket open, on any server process.

    `connections` totals the processes that share the database; a process that died
    drops out of it within PRESENCE_TTL.

    Args:
        user_id: The user to look up.
        state: Application state holding the chat service.

    Returns:
        The user's status.
    """
    count = await services_of(state).chat.relay.connections(user_id)
    return ConnectionStatus(user_id=user_id, connected=count > 0, connections=count)


class Health(msgspec.Struct, omit_defaults=True):
    """Liveness (with the server's version) or readiness."""

    status: Literal["ok", "ready", "unavailable"]
    detail: str | None = None
    version: str | None = None


@get("/health", sync_to_thread=False, opt={"public": True}, security=[{}])
def health() -> Health:
    """Liveness: the process is up and serving requests, and which version it runs."""
    return Health("ok", version=VERSION)


@get("/ready", opt={"public": True}, security=[{}])
async def ready(state: State) -> Response[Health]:
    """Readiness: the database answers, and the server is not draining. 503 otherwise.

    Args:
        state: Application state holding the pool.

    Returns:
        200 when ready, 503 while the database is unreachable (the pool reconnects alone)
        or once a SIGTERM has begun the drain.
    """
    services = services_of(state)
    if services.chat.draining:
        draining = Health("unavailable", "the server is shutting down")
        return Response(draining, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    pool = services.pool
    try:
        async with asyncio.timeout(2), pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means not ready
        unavailable = Health("unavailable", "the database is unreachable")
        return Response(unavailable, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(Health("ready"))
