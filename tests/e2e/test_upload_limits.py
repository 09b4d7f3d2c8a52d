"""What one user may keep and have indexing: past it an upload is refused, nothing stored."""

from __future__ import annotations

import asyncio

import httpx
import msgspec
import psycopg
import pytest

from tests.documents import indexed, pdf_drawing_bomb, upload
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_api_key=None)


def _stored(database_url: str, owner: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM threadline_documents WHERE owner = %s", (owner,)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _ready(http: httpx.AsyncClient, user: str, name: str, content: bytes) -> str:
    made = await upload(http, f"/users/{user}/documents", name, content)
    assert made.status_code == 202, made.text
    document_id: str = made.json()["document_id"]
    assert (await indexed(http, f"/users/{user}/documents/{document_id}"))["status"] == "ready"
    return document_id


async def test_a_user_keeps_at_most_max_documents_per_user(
    offline: Settings, database_url: str
) -> None:
    async with (
        serve_threadline(msgspec.structs.replace(offline, max_documents_per_user=2)) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        first = await _ready(http, "alice", "one.md", b"One.")
        await _ready(http, "alice", "two.md", b"Two.")
        refused = await upload(http, "/users/alice/documents", "three.md", b"Three.")
        assert refused.status_code == 409
        assert refused.json()["code"] == "too_many_documents"
        assert _stored(database_url, "alice") == 2
        await _ready(http, "bob", "three.md", b"Three.")  # another user's count is theirs

        assert (await http.delete(f"/users/alice/documents/{first}")).status_code == 204
        await _ready(http, "alice", "three.md", b"Three.")


async def test_a_user_keeps_at_most_max_document_bytes_per_user(
    offline: Settings, database_url: str
) -> None:
    small = msgspec.structs.replace(offline, max_document_bytes_per_user=1000)
    async with (
        serve_threadline(small) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        broken = await upload(http, "/users/alice/documents", "broken.txt", b"\xff" * 900)
        path = f"/users/alice/documents/{broken.json()['document_id']}"
        assert (await indexed(http, path))["status"] == "failed"  # it keeps no bytes
        await _ready(http, "alice", "one.txt", b"word " * 120)  # 600 bytes
        refused = await upload(http, "/users/alice/documents", "two.txt", b"word " * 100)
        assert refused.status_code == 413
        assert refused.json()["code"] == "document_storage_full"
        assert _stored(database_url, "alice") == 2
        await _ready(http, "alice", "two.txt", b"word " * 80)  # 1000 bytes in all


async def test_uploads_in_flight_are_bounded_per_user_even_when_sent_at_once(
    offline: Settings, database_url: str
) -> None:
    # Bombs stay `indexing` long enough (one user's documents are read one at a time).
    slow = msgspec.structs.replace(
        offline,
        max_uploads_in_flight_per_user=2,
        document_read_timeout=30,
        document_max_decompressed_bytes=1 << 30,
    )
    async with (
        serve_threadline(slow) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http,
    ):
        bomb = pdf_drawing_bomb(3, pages=16)
        sent = await asyncio.gather(
            *(upload(http, "/users/alice/documents", f"{n}.pdf", bomb) for n in range(8))
        )
        assert sorted(response.status_code for response in sent) == [202] * 2 + [429] * 6
        refusals = [response.json() for response in sent if response.status_code == 429]
        assert {refusal["code"] for refusal in refusals} == {"too_many_uploads"}
        assert _stored(database_url, "alice") == 2
        # Another user's upload is neither refused nor kept waiting by them.
        await _ready(http, "bob", "garden.md", b"The kumquat tree stands by the wall.")
