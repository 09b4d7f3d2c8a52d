"""Per-conversation model choice: MODELS, the `model` of a message, `set_model`, PATCH."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from tests.fake_groq import MODEL, FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.llm.offline import OFFLINE_MODEL_NAME
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LLAMA = "llama-3.3-70b-versatile"
SCOUT = "meta-llama/llama-4-scout-17b-16e-instruct"


def _choosing(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, models=f"{LLAMA}, {SCOUT}")


def _url(address: str, user: str, conversation: str | None = None) -> str:
    base = f"http://{address}/users/{user}/conversations"
    return base if conversation is None else f"{base}/{conversation}"


async def test_get_models_lists_the_default_first_then_models_then_the_offline_one(
    settings: Settings,
) -> None:
    async with serve_threadline(_choosing(settings)) as address, httpx.AsyncClient() as http:
        listed = (await http.get(f"http://{address}/models")).json()
    assert listed == {
        "default": MODEL,
        "models": [
            {"model_id": MODEL, "vision": False},
            {"model_id": LLAMA, "vision": False},
            {"model_id": SCOUT, "vision": True},
            {"model_id": OFFLINE_MODEL_NAME, "vision": False},
        ],
    }


async def test_a_first_messages_model_answers_every_turn_and_shows_everywhere(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_choosing(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="hello", model=LLAMA)
        first = await chat.collect()
        conversation_id = first.ack["conversation_id"]
        second = await chat.turn("again", conversation_id)
        history = await chat.history(conversation_id)
        async with httpx.AsyncClient() as http:
            detail = (await http.get(_url(address, "alice", conversation_id))).json()
            listed = (await http.get(_url(address, "alice"))).json()["items"]
    # The request reaching Groq names the chosen model, on every turn of the conversation.
    assert [request["model"] for request in fake_groq.requests] == [LLAMA, LLAMA]
    assert first.reply["model"] == second.reply["model"] == LLAMA
    assert [item["model"] for item in history if item["role"] == "assistant"] == [LLAMA, LLAMA]
    assert detail["model"] == listed[0]["model"] == LLAMA


async def test_a_conversation_that_chose_nothing_shows_the_default_model(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_choosing(settings)) as address, connect(address, "alice") as chat:
        turn = await chat.turn("hello")
        async with httpx.AsyncClient() as http:
            listed = (await http.get(_url(address, "alice"))).json()["items"]
    assert fake_groq.requests[0]["model"] == MODEL
    assert turn.reply["model"] == listed[0]["model"] == MODEL


async def test_set_model_patch_and_a_later_message_change_the_next_turns_model(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_choosing(settings)) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("one")).ack["conversation_id"]
        await chat.send(type="set_model", conversation_id=conversation_id, model=LLAMA)
        await chat.turn("two", conversation_id)
        async with httpx.AsyncClient() as http:
            patched = await http.patch(
                _url(address, "alice", conversation_id), json={"model": SCOUT}
            )
        await chat.turn("three", conversation_id)
        await chat.send(message="four", conversation_id=conversation_id, model=MODEL)
        await chat.collect()
        await chat.turn("five", conversation_id)
    assert [r["model"] for r in fake_groq.requests] == [MODEL, LLAMA, SCOUT, MODEL, MODEL]
    assert patched.status_code == 200, patched.text
    assert patched.json()["model"] == SCOUT
    # Every socket of the user hears of each change, as a sidebar event.
    changes = [e["model"] for e in chat.events if e["event"] == "model_changed"]
    assert changes == [LLAMA, SCOUT, MODEL]


async def test_the_offline_model_may_be_picked_beside_groq(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message="hello", model=OFFLINE_MODEL_NAME)
        turn = await chat.collect()
    assert fake_groq.requests == []
    assert turn.reply["model"] == OFFLINE_MODEL_NAME
    assert turn.reply["content"].startswith("[offline model, not an AI]")


async def test_an_unknown_model_is_refused_and_nothing_is_stored(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_choosing(settings)) as address, connect(address, "alice") as chat:
        refused = await chat.error(message="hello", model="gpt-4o")
        conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        later = await chat.error(message="again", conversation_id=conversation_id, model="gpt-4o")
        frame = await chat.error(type="set_model", conversation_id=conversation_id, model="gpt-4o")
        async with httpx.AsyncClient() as http:
            url = _url(address, "alice", conversation_id)
            patched = await http.patch(url, json={"model": "gpt-4o"})
            listed = (await http.get(_url(address, "alice"))).json()["items"]
            history = (await http.get(url)).json()["messages"]
    assert refused["code"] == later["code"] == frame["code"] == "unknown_model"
    assert "'gpt-4o'" in refused["detail"]
    assert LLAMA in refused["detail"]
    assert (patched.status_code, patched.json()["code"]) == (400, "unknown_model")
    # Only the accepted conversation, its model unchanged, and only its one exchange.
    assert [item["model"] for item in listed] == [MODEL]
    assert [m["content"] for m in history if m["role"] == "user"] == ["hello"]
    assert len(fake_groq.requests) == 1


async def test_another_users_conversation_cannot_have_its_model_changed(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_choosing(settings)) as address:
        async with connect(address, "alice") as alice:
            conversation_id = (await alice.turn("mine")).ack["conversation_id"]
        async with connect(address, "mallory") as mallory:
            frame = await mallory.error(
                type="set_model", conversation_id=conversation_id, model=LLAMA
            )
        async with httpx.AsyncClient() as http:
            patched = await http.patch(
                _url(address, "mallory", conversation_id), json={"model": LLAMA}
            )
            mine = (await http.get(_url(address, "alice", conversation_id))).json()
    assert frame["code"] == "conversation_not_found"
    assert (patched.status_code, patched.json()["code"]) == (404, "conversation_not_found")
    assert mine["model"] == MODEL


async def test_a_stopped_reply_records_the_model_that_wrote_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.05)
    long = " ".join(["word"] * 200)
    async with serve_threadline(_choosing(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message=long, model=LLAMA)
        conversation_id = (await chat.receive())["conversation_id"]
        await chat.until("token")
        await chat.send(type="stop", conversation_id=conversation_id)
        stopped = (await chat.until("message"))[-1]
        history = await chat.history(conversation_id)
    assert stopped["stopped"] is True
    assert stopped["model"] == history[-1]["model"] == LLAMA


async def test_an_edit_is_answered_by_the_conversations_model(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_choosing(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="hello", model=LLAMA)
        first = await chat.collect()
        conversation_id = first.ack["conversation_id"]
        await chat.send(
            type="edit",
            conversation_id=conversation_id,
            message_id=first.ack["message_id"],
            message="hello again",
        )
        edited = await chat.collect()
    # An edit is a turn of the same conversation: its chosen model answers it too.
    assert [request["model"] for request in fake_groq.requests] == [LLAMA, LLAMA]
    assert edited.reply["model"] == LLAMA
