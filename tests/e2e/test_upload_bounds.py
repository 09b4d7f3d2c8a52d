"""Uploads that cost more than they are worth: a decompression bomb, a PDF nested too deeply.

Each ends `failed` with a reason, within its bounds, while other users' documents and
turns go on as if it were not there.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from typing import Any

import httpx
import msgspec
import pytest

from tests.documents import indexed, pdf_bomb, pdf_drawing_bomb, pdf_nested, upload
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, connect
from threadline.observability.logs import JsonFormatter
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

NOTE = b"# Garden\n\nThe kumquat tree stands by the south wall.\n"


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_api_key=None)


async def _document(http: httpx.AsyncClient, user: str, document_id: str) -> dict[str, Any]:
    response = await http.get(f"/users/{user}/documents/{document_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _turn_seconds(chat: ChatClient, count: int) -> list[float]:
    """How long each of `count` turns took, from sending to the reply."""
    took = []
    for number in range(count):
        started = time.perf_counter()
        turn = await chat.turn(f"Hello, this is message {number}.", conversation_id=None)
        took.append(time.perf_counter() - started)
        assert turn.reply["type"] == "message"
    return took


async def test_a_decompression_bomb_delays_neither_another_users_document_nor_their_chat(
    offline: Settings,
) -> None:
    # 16 pages share a stream of 3 MB of drawing operations: minutes of parsing, with the
    # bound on inflated bytes lifted so that only the deadline stops it.
    deadline = 20.0
    patient = msgspec.structs.replace(
        offline, document_read_timeout=deadline, document_max_decompressed_bytes=1 << 30
    )
    async with (
        serve_threadline(patient) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http,
        connect(address, "bob") as bob,
    ):
        before = await _turn_seconds(bob, 3)
        bomb = await upload(
            http, "/users/alice/documents", "report.pdf", pdf_drawing_bomb(3, pages=16)
        )
        assert bomb.status_code == 202, bomb.text
        bomb_id = bomb.json()["document_id"]
        started = time.monotonic()

        note = await upload(http, "/users/bob/documents", "garden.md", NOTE)
        assert note.status_code == 202, note.text
        ready = await indexed(http, f"/users/bob/documents/{note.json()['document_id']}")
        during = await _turn_seconds(bob, 3)
        assert ready["status"] == "ready"
        # All of that happened while the bomb was still being read.
        assert (await _document(http, "alice", bomb_id))["status"] == "indexing"
        assert time.monotonic() - started < deadline
        assert statistics.median(during) < 5 * statistics.median(before) + 1.0, (before, during)

        failed = await indexed(http, f"/users/alice/documents/{bomb_id}", within=deadline + 30)
    assert (failed["status"], failed["chunks"]) == ("failed", 0)
    assert failed["reason"] == "reading the document took longer than 20 seconds"


async def test_a_bomb_like_the_reported_one_fails_at_once_under_the_default_bounds(
    offline: Settings,
) -> None:
    # 8 pages sharing one stream that inflates to 70 MB, as in the report.
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http,
    ):
        bomb = await upload(http, "/users/alice/documents", "report.pdf", pdf_bomb(70))
        assert bomb.status_code == 202, bomb.text
        failed = await indexed(http, f"/users/alice/documents/{bomb.json()['document_id']}")
    assert (failed["status"], failed["chunks"]) == ("failed", 0)
    assert failed["reason"] == f"the PDF inflates past {16 * 1024 * 1024} bytes"


async def test_a_pdf_nested_too_deeply_fails_with_a_reason_and_a_short_log_line(
    offline: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="threadline")
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        made = await upload(http, "/users/alice/documents", "deep.pdf", pdf_nested(100_000))
        assert made.status_code == 202, made.text
        failed = await indexed(http, f"/users/alice/documents/{made.json()['document_id']}")
    assert (failed["status"], failed["reason"]) == ("failed", "the PDF nests too deeply to read")
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any(json.loads(line)["event"] == "documents.failed" for line in lines)
    assert max(len(line) for line in lines) < 1000
