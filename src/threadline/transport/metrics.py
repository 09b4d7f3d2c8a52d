"""`GET /metrics`: Prometheus text, open without authentication, an admin's with it."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

__all__ = ("MetricsController", "http_metrics")


class MetricsController(PrometheusController):
    """This process's metrics: HTTP requests, turns, model calls, sockets, the pool."""

    path = "/metrics"
    tags = ["operations"]  # noqa: RUF012 - Litestar's declared attribute type
    opt = {"operator": True}  # noqa: RUF012 - checked by the access middleware


def http_metrics() -> PrometheusConfig:
    """Requests by method, route (its template, not the ids in it) and status.

    HTTP only: on a socket the middleware would wrap every frame sent, and a socket is
    measured by the socket and turn metrics instead.
    """
    return PrometheusConfig(
        app_name="threadline",
        scopes={ScopeType.HTTP},
        prefix="threadline",
        group_path=True,
        exclude=["^/metrics$"],
    )
