"""The terminal client's connection: where it goes, and when to stop trying."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import httpx
from httpx_ws import HTTPXWSException, WebSocketDisconnect, WebSocketUpgradeError

from threadline.settings import read_dotenv

__all__ = ("Target", "default_url", "innermost", "why_final")

# Close codes after which connecting again cannot help: the credentials are refused.
_FINAL_CLOSES = frozenset({1008, 4401, 4403})


# Addresses a server listens on that a client cannot connect to as such.
_ANY_ADDRESS = {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound


def default_url(environ: Mapping[str, str], dotenv: Path = Path(".env")) -> str:
    """The server's WebSocket URL from HOST and PORT, as the server itself reads them."""
    values = {**read_dotenv(dotenv), **environ}
    host = values.get("HOST", "").strip()
    host = "localhost" if host in _ANY_ADDRESS else host
    port = values.get("PORT", "").strip() or "8000"
    return f"ws://{host}:{port}"


def innermost(error: BaseException) -> BaseException:
    """The one error inside the groups httpx-ws's task group wraps errors in."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


class Target(NamedTuple):
    """Where to connect, and as whom."""

    url: str  # ws://host:port
    user: str
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        """The credentials, as a header, when there are any."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def http_url(self) -> str:
        """The REST API's base URL on the same server."""
        return "http" + self.url.removeprefix("ws")


def why_final(
    error: BaseException | None, target: Target, connections: int
) -> tuple[int, str] | None:
    """The exit code and reason when connecting again cannot help, else None.

    Args:
        error: What ended the last connection (None: the server closed it cleanly).
        target: Where the client connects.
        connections: How many connections were made so far; none means the server was
            never reached, which a person should hear about rather than wait.

    Returns:
        `(exit code, reason)`, or None to connect again.
    """
    if isinstance(error, WebSocketUpgradeError):
        status = error.response.status_code
        return 1, f"Threadline refused the connection (HTTP {status})"
    if isinstance(error, WebSocketDisconnect) and error.code in _FINAL_CLOSES:
        return 1, f"the server closed the connection ({error.code})"
    if not connections:
        reason = str(error) or type(error).__name__
        return 2, f"cannot reach Threadline at {target.url}: {reason}"
    if isinstance(error, OSError | httpx.HTTPError | HTTPXWSException | None):
        return None
    raise error  # a bug of ours: shown, not retried forever
