"""Uploads that cost more than they are worth end `failed` with a reason, within bounds."""

from __future__ import annotations

import json
import logging

import httpx
import msgspec
import pytest

from tests.documents import indexed, pdf_nested, upload
from tests.serving import serve_threadline
from threadline.observability.logs import JsonFormatter
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_api_key=None)


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
