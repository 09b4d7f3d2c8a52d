"""Long-term memory over a real socket and the REST API: saved with the `remember` tool in
one conversation, recalled by meaning in another; never another user's; erased with the
user; off with MEMORY=off."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.documents import indexed, upload
from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_api_key=None)


async def _ask(chat: ChatClient, message: str, **extra: Any) -> list[Frame]:
    await chat.send(message=message, **extra)
    return await chat.until_any("message", "error", within=20)


async def _memories(address: str, user: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/users/{user}/memories")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_memory_saved_in_one_conversation_is_recalled_in_another(
    offline: Settings,
) -> None:
    async with serve_threadline(offline) as address, connect(address, "alice") as alice:
        saved = await _ask(alice, "Remember that my favourite colour is teal")
        call = next(f for f in saved if f["type"] == "tool_call")
        assert call["name"] == "remember"
        assert call["args"] == {"text": "my favourite colour is teal"}
        result = next(f for f in saved if f["type"] == "tool_result")
        assert result["content"] == 'Saved to memory: "my favourite colour is teal"'

        # A new conversation: nothing of the first is in its thread, only the memory.
        later = await _ask(alice, "What colour do I like best?")
        assert later[0]["conversation_id"] != saved[0]["conversation_id"]
        assert 'I remember: "my favourite colour is teal"' in later[-1]["content"]

        [memory] = await _memories(address, "alice")
        assert memory["text"] == "my favourite colour is teal"
        assert set(memory) == {"memory_id", "text", "created_at"}


async def test_the_memory_demo_works_for_a_user_who_has_documents_too(
    offline: Settings,
) -> None:
    async with serve_threadline(offline) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            pumps = b"The K7 pump moves 40 litres per minute."
            made = await upload(http, "/users/alice/documents", "pumps.md", pumps)
            assert made.status_code == 202, made.text
            document = await indexed(http, f"/users/alice/documents/{made.json()['document_id']}")
            assert document["status"] == "ready"
        async with connect(address, "alice") as alice:
            unknown = await _ask(alice, "What colour do I like?")
            saved = await _ask(alice, "Remember that my favourite colour is teal")
            later = await _ask(alice, "What colour do I like?")
            pump = await _ask(alice, "How many litres per minute does the K7 pump move?")
        memories = [m["text"] for m in await _memories(address, "alice")]

    assert [f["name"] for f in saved if f["type"] == "tool_call"] == ["remember"]
    assert memories == ["my favourite colour is teal"]
    answer = later[-1]["content"]
    assert 'I remember: "my favourite colour is teal"' in answer
    assert "No passage" not in answer
    assert unknown[-1]["content"].endswith("No passage of the user's documents answers this.")
    assert ".." not in unknown[-1]["content"] + saved[-1]["content"] + answer
    # A question the documents answer is still answered from them, with its source.
    assert "40 litres per minute" in pump[-1]["content"]
    assert [c["title"] for c in pump[-1]["citations"]] == ["pumps.md"]


async def test_memories_never_reach_another_user(offline: Settings) -> None:
    async with serve_threadline(offline) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            made = await http.post("/users/alice/memories", json={"text": "I own a red kayak"})
            assert made.status_code == 201
            memory_id = made.json()["memory_id"]
            # Bob can neither list, nor delete, nor be reminded of Alice's memory.
            assert (await http.get("/users/bob/memories")).json() == {"items": []}
            gone = await http.delete(f"/users/bob/memories/{memory_id}")
            assert gone.status_code == 404
            assert gone.json()["code"] == "memory_not_found"
        async with connect(address, "bob") as bob:
            reply = (await _ask(bob, "What kind of boat do I own?"))[-1]
        assert reply["type"] == "message"
        assert "kayak" not in reply["content"]
        assert [m["text"] for m in await _memories(address, "alice")] == ["I own a red kayak"]


async def test_memories_are_added_listed_and_deleted_over_rest(offline: Settings) -> None:
    async with (
        serve_threadline(offline) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        first = (await http.post("/users/alice/memories", json={"text": "  I am vegan "})).json()
        second = (await http.post("/users/alice/memories", json={"text": "I live in Lyon"})).json()
        assert first["text"] == "I am vegan"
        listed = (await http.get("/users/alice/memories")).json()["items"]
        assert [m["memory_id"] for m in listed] == [first["memory_id"], second["memory_id"]]

        assert (await http.delete(f"/users/alice/memories/{first['memory_id']}")).status_code == 204
        listed = (await http.get("/users/alice/memories")).json()["items"]
        assert [m["text"] for m in listed] == ["I live in Lyon"]
        again = await http.delete(f"/users/alice/memories/{first['memory_id']}")
        assert again.status_code == 404

        # Text that is only blanks (or NULs, kept as blanks) leaves nothing to remember.
        empty = ({"text": ""}, {"text": "\r"}, {"text": " \t\n"}, {"text": "\u0000"})
        for body in (*empty, {"text": "x" * 1001}, {"note": "hi"}, {}):
            refused = await http.post("/users/alice/memories", json=body)
            assert refused.status_code == 400, body
            assert refused.json()["code"] == "invalid_request"


async def test_with_memory_off_nothing_is_saved_or_recalled(offline: Settings) -> None:
    off = msgspec.structs.replace(offline, memory="off")
    async with serve_threadline(off) as address:
        async with connect(address, "alice") as alice:
            frames = await _ask(alice, "Remember that my cat is called Miso")
        assert [f["type"] for f in frames if f["type"] != "token"] == ["ack", "message"]
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            listed = await http.get("/users/alice/memories")
            added = await http.post("/users/alice/memories", json={"text": "my cat is Miso"})
        assert listed.status_code == added.status_code == 404
        assert listed.json()["code"] == "memory_disabled"


async def test_the_model_is_told_the_memories_it_received(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            await http.post("/users/alice/memories", json={"text": "My dog is named Pepper"})
            await http.post("/users/alice/memories", json={"text": "I work as a tax lawyer"})
        async with connect(address, "alice") as alice:
            await alice.turn("What is my dog called?")
    system = [m["content"] for m in fake_groq.requests[-1]["messages"] if m["role"] == "system"]
    [notes] = [text for text in system if text.startswith("Memories about this user")]
    lines = notes.splitlines()[1:]
    assert lines[0] == "- My dog is named Pepper"  # the closest in meaning comes first
