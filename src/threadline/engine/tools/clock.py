"""The current date and time, in a time zone the user names."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import StructuredTool

__all__ = ("clock", "current_time")


def current_time(timezone: str = "UTC", *, now: datetime | None = None) -> str:
    """The date and time in `timezone` (an IANA name), e.g. `2026-11-28 10:04 CET, Saturday`.

    Raises:
        ValueError: The time zone is unknown.
    """
    try:
        zone = ZoneInfo(timezone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown time zone {timezone!r}; use an IANA name such as Europe/Paris"
        raise ValueError(msg) from None
    local = (now or datetime.now(UTC)).astimezone(zone)
    offset = local.strftime("%z")
    return (
        f"{local:%Y-%m-%d %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]}), "
        f"{local:%A}, in {zone.key}"
    )


async def _clock(timezone: str = "UTC") -> str:
    return current_time(timezone)


clock = StructuredTool.from_function(
    coroutine=_clock,
    name="clock",
    description=(
        "The current date, time and weekday in a time zone. `timezone` is an IANA name "
        "such as 'Europe/Paris' or 'America/New_York' (default UTC)."
    ),
)
