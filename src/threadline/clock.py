"""Time as Threadline stores it: ISO 8601 in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ("now",)


def now() -> str:
    """The current time as an ISO 8601 string in UTC (`+00:00`)."""
    return datetime.now(UTC).isoformat()
