"""The knowledge base over HTTP and a real socket: upload, background indexing, answers that
cite their sources (kept in history), deletion, bad files, shared documents, other users."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from tests.credentials import api_keys
from tests.documents import indexed, pdf_with, upload
from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

PUMPS = b"""# Pump manual

The K7 pump moves at most 42 litres of water per minute.

Clean the intake filter of the K7 every three months.
"""
QUESTION = "How many litres per minute does the K7 pump move?"


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_api_key=None)


async def _ask(chat: ChatClient, message: str) -> list[Frame]:
    await chat.send(message=message)
    return await chat.until_any("message", "error", within=20)


async def _ready(http: httpx.AsyncClient, user: str, name: str, content: bytes) -> dict[str, Any]:
    response = await upload(http, f"/users/{user}/documents", name, content)
    assert response.status_code == 202, response.text
    return await indexed(http, f"/users/{user}/documents/{response.json()['document_id']}")


async def test_an_uploaded_document_is_cited_by_the_answer_and_in_history(
    offline: Settings,
) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        response = await upload(http, "/users/alice/documents", "pumps.md", PUMPS)
        assert response.status_code == 202
        started = response.json()
        assert (started["title"], started["status"]) == ("pumps.md", "indexing")
        document = await indexed(http, f"/users/alice/documents/{started['document_id']}")
        assert (document["status"], document["chunks"]) == ("ready", 1)

        async with connect(address, "alice") as alice:
            frames = await _ask(alice, QUESTION)
        call = next(f for f in frames if f["type"] == "tool_call")
        assert (call["name"], call["args"]) == ("search_documents", {"query": QUESTION})
        reply = frames[-1]
        [citation] = reply["citations"]
        assert citation["document_id"] == started["document_id"]
        assert citation["title"] == "pumps.md"
        assert "42 litres of water per minute" in citation["text"]
        assert 0 < citation["score"] <= 1
        assert "42 litres of water per minute" in reply["content"]  # the offline model quotes

        detail = await http.get(f"/users/alice/conversations/{frames[0]['conversation_id']}")
        stored = detail.json()["messages"][-1]
        assert (stored["message_id"], stored["citations"]) == (reply["message_id"], [citation])


async def test_a_deleted_document_is_no_longer_cited(offline: Settings) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        document = await _ready(http, "alice", "pumps.md", PUMPS)
        path = f"/users/alice/documents/{document['document_id']}"
        assert (await http.delete(path)).status_code == 204
        assert (await http.get(path)).json()["code"] == "document_not_found"
        assert (await http.get("/users/alice/documents")).json() == {"items": []}
        async with connect(address, "alice") as alice:
            reply = (await _ask(alice, QUESTION))[-1]
    assert reply["type"] == "message"
    assert "citations" not in reply
    assert "42 litres" not in reply["content"]


async def test_another_users_documents_are_neither_cited_nor_reachable(offline: Settings) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        document = await _ready(http, "alice", "pumps.md", PUMPS)
        theirs = f"/users/bob/documents/{document['document_id']}"
        for response in (await http.get(theirs), await http.delete(theirs)):
            assert response.status_code == 404
            assert response.json()["code"] == "document_not_found"
        assert (await http.get("/users/bob/documents")).json() == {"items": []}
        async with connect(address, "bob") as bob:
            reply = (await _ask(bob, QUESTION))[-1]
        assert "citations" not in reply
        assert "42 litres" not in reply["content"]
        assert (await http.get(f"/users/alice/documents/{document['document_id']}")).is_success


async def test_a_documents_title_is_its_file_name_without_path_or_control_characters(
    offline: Settings,
) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        made = await upload(http, "/users/alice/documents", "..\\..\\x/ma\u200bnual.md", PUMPS)
    assert made.status_code == 202
    assert made.json()["title"] == "manual.md"


async def test_pdf_and_html_are_read_as_text(offline: Settings) -> None:
    page = b"""<html><head><title>x</title><script>steal()</script></head>
        <body><h1>Valves</h1><p>The Z9 valve closes in two seconds &amp; never leaks.</p>
        <script>alert('boom')</script></body></html>"""
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        pdf = await _ready(http, "alice", "report.pdf", pdf_with("Turbine T2 spins at 900 rpm."))
        html = await _ready(http, "alice", "valves.html", page)
        assert (pdf["status"], pdf["media_type"]) == ("ready", "application/pdf")
        assert html["status"] == "ready"
        async with connect(address, "alice") as alice:
            turbine = (await _ask(alice, "How fast does turbine T2 spin?"))[-1]
            valve = (await _ask(alice, "How quickly does the Z9 valve close?"))[-1]
    assert turbine["citations"][0]["text"] == "Turbine T2 spins at 900 rpm."
    assert valve["citations"][0]["text"] == (
        "Valves\n\nThe Z9 valve closes in two seconds & never leaks."
    )


async def test_bad_files_get_clear_errors_and_leave_nothing_half_indexed(
    offline: Settings, database_url: str
) -> None:
    small = msgspec.structs.replace(offline, document_max_bytes=2000)
    async with (
        serve_threadline(small) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        refusals = {
            "empty_document": await upload(http, "/users/alice/documents", "empty.txt", b""),
            "unsupported_document": await upload(
                http, "/users/alice/documents", "tool.exe", b"MZ\x90\x00"
            ),
            "document_too_large": await upload(
                http, "/users/alice/documents", "big.txt", b"word " * 1000
            ),
        }
        for code, response in refusals.items():
            assert response.json()["code"] == code
        assert [r.status_code for r in refusals.values()] == [422, 415, 413]
        no_file = await http.post("/users/alice/documents", files={"other": ("a.txt", b"hi")})
        assert no_file.status_code == 400
        assert no_file.json()["code"] == "invalid_request"

        broken = await _ready(http, "alice", "broken.pdf", b"%PDF-1.4 not really a pdf")
        latin = await _ready(http, "alice", "notes.txt", "café crème".encode("latin-1"))
        assert (broken["status"], broken["chunks"]) == ("failed", 0)
        assert broken["reason"].startswith("the PDF cannot be read")
        assert (latin["status"], latin["reason"]) == ("failed", "the file is not UTF-8 text")
        listed = (await http.get("/users/alice/documents")).json()["items"]
        assert {d["status"] for d in listed} == {"failed"}
    with psycopg.connect(database_url) as conn:
        chunks = conn.execute("SELECT count(*) FROM threadline_chunks").fetchone()
        uploads = conn.execute(
            "SELECT count(*) FROM threadline_documents WHERE content IS NOT NULL"
        ).fetchone()
    assert chunks == (0,)
    assert uploads == (0,)  # uploads are dropped once indexed, or once they failed


async def test_shared_documents_are_managed_by_an_admin_and_cited_for_everyone(
    offline: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = {"X-API-Key": (await keys.create("ops", user_id=None, admin=True)).key}
        alice = {"X-API-Key": (await keys.create("alice", user_id="alice", admin=False)).key}
    secured = msgspec.structs.replace(offline, auth_mode="api_key")
    async with (
        serve_threadline(secured) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        refused = await upload(http, "/admin/documents", "pumps.md", PUMPS, headers=alice)
        assert refused.status_code == 403
        made = await upload(http, "/admin/documents", "pumps.md", PUMPS, headers=admin)
        assert made.status_code == 202
        shared = await indexed(http, f"/admin/documents/{made.json()['document_id']}", admin)
        assert (shared["status"], shared["shared"]) == ("ready", True)
        # Alice reads it through retrieval, but it is not hers to list or delete.
        assert (await http.get("/users/alice/documents", headers=alice)).json() == {"items": []}
        mine = f"/users/alice/documents/{shared['document_id']}"
        assert (await http.delete(mine, headers=alice)).status_code == 404
        async with connect(address, "alice", headers=alice) as chat:
            reply = (await _ask(chat, QUESTION))[-1]
        assert reply["citations"][0]["document_id"] == shared["document_id"]


async def test_a_groq_model_gets_numbered_sources_and_the_reply_cites_them(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        document = await _ready(http, "alice", "pumps.md", PUMPS)
        fake_groq.tool_calls.append([("search_documents", {"query": "K7 litres per minute"})])
        async with connect(address, "alice") as alice:
            frames = await _ask(alice, QUESTION)
    first, second = fake_groq.requests[-2:]
    notes = [m["content"] for m in first["messages"] if m["role"] == "system"]
    assert any("knowledge base" in note for note in notes)
    [source] = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    assert source.startswith('[1] "pumps.md": # Pump manual')
    assert frames[-1]["citations"][0]["document_id"] == document["document_id"]
