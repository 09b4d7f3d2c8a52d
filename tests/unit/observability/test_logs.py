"""Log lines never carry a credential, wherever a library put it."""

from __future__ import annotations

import logging

import pytest

from threadline.observability.logs import JsonFormatter, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('127.0.0.1:5 - "WebSocket /ws/alice?ticket=abc123" [accepted]', "abc123"),
        ("GET /x?a=1&token=eyJhbGciOi.xyz&b=2 HTTP/1.1", "eyJhbGciOi.xyz"),
        ("< authorization: Bearer tl_secretkey", "tl_secretkey"),
        ("< X-API-Key: tl_secretkey", "tl_secretkey"),
        ("headers={'authorization': 'Bearer eyJ.a.b', 'host': 'x'}", "eyJ.a.b"),
        ("< cookie: session=s3cr3t", "s3cr3t"),
    ],
)
def test_credentials_are_redacted(line: str, secret: str) -> None:
    redacted = redact(line)
    assert secret not in redacted
    assert "[redacted]" in redacted


def test_the_rest_of_a_line_is_kept() -> None:
    line = 'GET /users/alice/conversations?limit=20&ticket=t HTTP/1.1" 200'
    assert redact(line) == 'GET /users/alice/conversations?limit=20&ticket=[redacted] HTTP/1.1" 200'
    assert redact("< host: 127.0.0.1:8000") == "< host: 127.0.0.1:8000"


def test_the_json_formatter_redacts_messages_and_tracebacks() -> None:
    try:
        raise ValueError("failed fetching /ws/a?ticket=leaked")
    except ValueError as error:
        record = logging.LogRecord(
            "uvicorn.error", logging.INFO, "", 0, "%s - %s", ("x", "?ticket=leaked"), None
        )
        record.exc_info = (ValueError, error, error.__traceback__)
    assert "leaked" not in JsonFormatter().format(record)
