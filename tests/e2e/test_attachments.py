"""Attachments on a message: images for a model that sees them, documents as the
conversation's knowledge; over a real socket, with the real ChatGroq and the fake Groq."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import msgspec
import pytest

from tests.documents import indexed, upload
from tests.fake_groq import MODEL, FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.llm.offline import OFFLINE_MODEL_NAME
from threadline.llm.prompts import ATTACHED_NOTE, IMAGE_NOT_SHOWN
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

SCOUT = "meta-llama/llama-4-scout-17b-16e-instruct"
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
IMAGE = "data:image/png;base64," + base64.b64encode(PNG).decode()


def _seeing(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, models=SCOUT)


def _user_content(request: dict[str, Any]) -> Any:
    return [m["content"] for m in request["messages"] if m["role"] == "user"][-1]


async def test_an_image_reaches_a_vision_model_as_an_image_block_and_history_describes_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_seeing(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="what is this?", model=SCOUT, attachments=[{"image": IMAGE}])
        turn = await chat.collect()
        conversation_id = turn.ack["conversation_id"]
        await chat.send(type="history", conversation_id=conversation_id)
        while '"type":"history"' not in (raw := await chat.ws.receive_text()):
            pass
    assert fake_groq.requests[0]["model"] == SCOUT
    assert _user_content(fake_groq.requests[0]) == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": IMAGE}},
    ]
    assert turn.reply["content"] == "Reply 1: what is this?"
    history = msgspec.json.decode(raw)["messages"]
    assert history[0]["content"] == "what is this?"
    assert history[0]["attachments"] == [
        {"type": "image", "media_type": "image/png", "size_bytes": len(PNG)}
    ]
    assert IMAGE.split(",")[1] not in raw  # a descriptor, never the image again


async def test_an_image_for_a_model_without_vision_is_refused_and_nothing_is_stored(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_seeing(settings)) as address, connect(address, "alice") as chat:
        default = await chat.error(message="look", attachments=[{"image": IMAGE}])
        offline = await chat.error(
            message="look", model=OFFLINE_MODEL_NAME, attachments=[{"image": IMAGE}]
        )
        async with httpx.AsyncClient() as http:
            listed = (await http.get(f"http://{address}/users/alice/conversations")).json()
    assert default["code"] == offline["code"] == "unsupported_attachment"
    assert "does not take images" in default["detail"]
    assert listed["items"] == []
    assert fake_groq.requests == []


@pytest.mark.parametrize(
    ("attachment", "code"),
    [
        ({"image": "data:image/svg+xml;base64,PHN2Zy8+"}, "unsupported_attachment"),
        ({"image": "data:image/jpeg;base64," + IMAGE.split(",")[1]}, "unsupported_attachment"),
        ({"image": "data:image/png;base64,not base64!"}, "unsupported_attachment"),
        ({"image": "https://example.com/cat.png"}, "unsupported_attachment"),
        ({"image": IMAGE, "document_id": "d"}, "invalid_frame"),
        ({}, "invalid_frame"),
        ({"image": "data:image/png;base64," + "A" * 20_000}, "message_too_large"),
    ],
    ids=["svg", "not-what-it-says", "not-base64", "not-a-data-url", "both", "neither", "large"],
)
async def test_a_bad_image_is_refused_with_its_code(
    settings: Settings, fake_groq: FakeGroq, attachment: dict[str, str], code: str
) -> None:
    async with serve_threadline(_seeing(settings)) as address, connect(address, "alice") as chat:
        refused = await chat.error(message="look", model=SCOUT, attachments=[attachment])
        fine = await chat.turn("still here")
    assert refused["code"] == code
    assert fine.reply["content"].endswith("still here")
    assert len(fake_groq.requests) == 1


async def test_after_a_switch_to_a_model_without_vision_its_images_become_a_note(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_seeing(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="see", model=SCOUT, attachments=[{"image": IMAGE}])
        conversation_id = (await chat.collect()).ack["conversation_id"]
        await chat.send(message="and now?", conversation_id=conversation_id, model=MODEL)
        await chat.collect()
    later = fake_groq.requests[1]
    assert later["model"] == MODEL
    seen = next(m["content"] for m in later["messages"] if m["role"] == "user")
    assert seen == [{"type": "text", "text": "see"}, {"type": "text", "text": IMAGE_NOT_SHOWN}]


PUMPS = b"The K7 pump moves at most 42 litres of water per minute, per the K7 manual.\n"
NOTES = b"Service notes: the K7 was serviced in March.\n"


async def _ready(http: httpx.AsyncClient, user: str, name: str, content: bytes) -> str:
    response = await upload(http, f"/users/{user}/documents", name, content)
    assert response.status_code == 202, response.text
    document = await indexed(http, f"/users/{user}/documents/{response.json()['document_id']}")
    return str(document["document_id"])


async def test_an_attached_document_is_searched_first_for_its_conversation(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    query = "K7 litres per minute"
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        await _ready(http, "alice", "pumps.md", PUMPS)
        notes = await _ready(http, "alice", "notes.md", NOTES)
        fake_groq.tool_calls.extend([[("search_documents", {"query": query})]] * 2)
        async with connect(address, "alice") as chat:
            await chat.send(message="about the K7?", attachments=[{"document_id": notes}])
            attached = await chat.until("message", within=20)
            await chat.send(message="about the K7?")
            plain = await chat.until("message", within=20)
        conversation_id = attached[0]["conversation_id"]
        detail = (await http.get(f"/users/alice/conversations/{conversation_id}")).json()
    # Side by side: the same search, first in the attached document only where attached.
    with_notes, without = (
        next(m["content"] for m in request["messages"] if m["role"] == "tool")
        for request in (fake_groq.requests[1], fake_groq.requests[3])
    )
    assert with_notes.startswith('[1] "notes.md"')
    assert '[2] "pumps.md"' in with_notes
    assert without.startswith('[1] "pumps.md"')
    assert ATTACHED_NOTE in [m["content"] for m in fake_groq.requests[0]["messages"]]
    assert ATTACHED_NOTE not in [m["content"] for m in fake_groq.requests[2]["messages"]]
    assert attached[-1]["citations"][0]["document_id"] == notes
    assert plain[-1]["type"] == "message"
    assert detail["messages"][0]["attachments"] == [
        {"type": "document", "document_id": notes, "title": "notes.md"}
    ]


async def test_another_users_document_cannot_be_attached(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        theirs = await _ready(http, "bob", "pumps.md", PUMPS)
        async with connect(address, "alice") as chat:
            foreign = await chat.error(message="hi", attachments=[{"document_id": theirs}])
            missing = await chat.error(message="hi", attachments=[{"document_id": "nope"}])
    assert foreign["code"] == missing["code"] == "unsupported_attachment"
    assert foreign["detail"].replace(theirs, "X") == missing["detail"].replace("nope", "X")
    assert fake_groq.requests == []


async def test_a_document_attached_later_stays_the_conversations_knowledge(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        await _ready(http, "alice", "pumps.md", PUMPS)
        notes = await _ready(http, "alice", "notes.md", NOTES)
        async with connect(address, "alice") as chat:
            conversation_id = (await chat.turn("hello")).ack["conversation_id"]
            await chat.send(
                message="this one",
                conversation_id=conversation_id,
                attachments=[{"document_id": notes}],
            )
            await chat.collect()
            fake_groq.tool_calls.append([("search_documents", {"query": "K7 litres"})])
            await chat.send(message="and the K7?", conversation_id=conversation_id)
            await chat.until("message", within=20)
    noted = [ATTACHED_NOTE in [m["content"] for m in r["messages"]] for r in fake_groq.requests]
    assert noted == [False, True, True, True]  # the last two: the tool call and the answer
    source = next(m["content"] for m in fake_groq.requests[3]["messages"] if m["role"] == "tool")
    assert source.startswith('[1] "notes.md"')


async def test_a_document_whose_indexing_failed_cannot_be_attached(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        response = await upload(http, "/users/alice/documents", "bad.pdf", b"%PDF-1.4 broken")
        assert response.status_code == 202, response.text
        path = f"/users/alice/documents/{response.json()['document_id']}"
        broken = await indexed(http, path)
        assert broken["status"] == "failed"
        async with connect(address, "alice") as chat:
            refused = await chat.error(
                message="hi", attachments=[{"document_id": broken["document_id"]}]
            )
            assert refused["code"] == "unsupported_attachment"
            assert "failed" in refused["detail"], refused
            # Nothing was stored: no conversation was made.
            listed = await http.get("/users/alice/conversations")
            assert listed.json()["items"] == []
    assert fake_groq.requests == []
