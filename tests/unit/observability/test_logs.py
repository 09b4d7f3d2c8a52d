"""Log lines never carry a credential or what users sent, wherever a library put it."""

from __future__ import annotations

import logging

import pytest
from websockets.frames import Frame, Opcode

from threadline.observability.logs import JsonFormatter, redact, without_frames


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('127.0.0.1:5 - "WebSocket /ws/alice?ticket=abc123" [accepted]', "abc123"),
        ("GET /x?a=1&token=eyJhbGciOi.xyz&b=2 HTTP/1.1", "eyJhbGciOi.xyz"),
        ("< authorization: Bearer tl_secretkey", "tl_secretkey"),
        ("< X-API-Key: tl_secretkey", "tl_secretkey"),
        ("headers={'authorization': 'Bearer eyJ.a.b', 'host': 'x'}", "eyJ.a.b"),
        ("< cookie: session=s3cr3t", "s3cr3t"),
        # A share's id is what lets anyone read it: uvicorn's request line must not keep it.
        ('127.0.0.1:5 - "GET /shared/Ab-c_123xyz HTTP/1.1" 200', "Ab-c_123xyz"),
        ('"DELETE /users/a/conversations/c/share/Ab-c_123xyz HTTP/1.1" 204', "Ab-c_123xyz"),
    ],
)
def test_credentials_are_redacted(line: str, secret: str) -> None:
    redacted = redact(line)
    assert secret not in redacted
    assert "[redacted]" in redacted


def test_every_query_value_is_redacted_and_the_rest_of_the_line_kept() -> None:
    line = 'GET /users/alice/search?q=kumquat%20tree&limit=20&ticket=t HTTP/1.1" 200'
    assert redact(line) == (
        'GET /users/alice/search?q=[redacted]&limit=[redacted]&ticket=[redacted] HTTP/1.1" 200'
    )
    assert redact("< host: 127.0.0.1:8000") == "< host: 127.0.0.1:8000"
    assert redact("what is 2+2? a=4") == "what is 2+2? a=4"  # a question, not a query


def test_the_websocket_library_s_frame_lines_are_dropped() -> None:
    def record(message: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.DEBUG, "", 0, message, args, None)

    frame = Frame(Opcode.TEXT, b'{"message": "my secret plans"}')
    assert not without_frames(record("< %s", frame))
    assert without_frames(record("< GET %s HTTP/1.1", "/ws/alice"))  # the handshake stays
    assert without_frames(record("= connection is %s", "OPEN"))


def test_the_json_formatter_redacts_messages_and_tracebacks() -> None:
    try:
        raise ValueError("failed fetching /ws/a?ticket=leaked")
    except ValueError as error:
        record = logging.LogRecord(
            "uvicorn.error", logging.INFO, "", 0, "%s - %s", ("x", "?ticket=leaked"), None
        )
        record.exc_info = (ValueError, error, error.__traceback__)
    assert "leaked" not in JsonFormatter().format(record)
