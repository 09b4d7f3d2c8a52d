"""An edit resent (after a reconnect, a retry) is answered as stored: one sibling, one turn."""

from __future__ import annotations

import httpx
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def _two_turns(chat: ChatClient) -> tuple[str, Frame]:
    """A conversation of two turns; its id and its second user message."""
    first = await chat.turn("one")
    conversation_id: str = first.ack["conversation_id"]
    second = await chat.turn("two", conversation_id)
    return conversation_id, second.ack


def _siblings(history: list[Frame], content: str) -> list[str]:
    found = next(m for m in history if m["content"] == content)
    ids: list[str] = found["branch"]["sibling_ids"]
    return ids


async def test_an_edit_resent_after_a_reconnect_gets_the_stored_answer(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            conversation_id, two = await _two_turns(chat)
            edit = {
                "type": "edit",
                "conversation_id": conversation_id,
                "message_id": two["message_id"],
                "message": "TWO",
                "client_message_id": "e-1",
            }
            await chat.send(**edit)
            edited = await chat.collect()
        asked = len(fake_groq.requests)
        async with connect(address, "alice") as again:  # the connection dropped: resend
            await again.send(**edit)
            resent = await again.collect()
            other = await again.error(**{**edit, "message": "something else"})
            history = await again.history(conversation_id)

    assert edited.ack["client_message_id"] == "e-1"
    assert resent.ack == edited.ack
    assert resent.reply["message_id"] == edited.reply["message_id"]
    assert resent.reply["content"] == edited.reply["content"] == "Reply 3: TWO"
    assert len(fake_groq.requests) == asked  # not answered twice
    assert other["code"] == "invalid_frame"
    assert [m["content"] for m in history] == ["one", "Reply 1: one", "TWO", "Reply 3: TWO"]
    assert _siblings(history, "TWO") == [two["message_id"], edited.ack["message_id"]]


async def test_an_edit_resent_while_its_reply_runs_joins_that_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    held = Fault(hold_after=1, only_for="TWO")
    async with (
        serve_threadline(settings) as address,
        connect(address, "alice") as chat,
        connect(address, "alice") as retry,
    ):
        conversation_id, two = await _two_turns(chat)
        edit = {
            "type": "edit",
            "conversation_id": conversation_id,
            "message_id": two["message_id"],
            "message": "TWO",
            "client_message_id": "e-1",
        }
        fake_groq.faults.append(held)
        await chat.send(**edit)
        await chat.until("token")
        await retry.send(**edit)
        joined = await retry.until("token")
        held.release.set()
        edited = (await chat.until("message"))[-1]
        resent = (await retry.until("message"))[-1]
        history = await chat.history(conversation_id)

    assert joined[0]["type"] == "ack"
    assert joined[0]["client_message_id"] == "e-1"
    assert resent["message_id"] == edited["message_id"]
    assert resent["content"] == edited["content"] == "Reply 3: TWO"
    assert len(fake_groq.requests) == 3
    assert _siblings(history, "TWO") == [two["message_id"], joined[0]["message_id"]]


async def test_a_rest_edit_resent_answers_the_stored_ids_and_runs_once(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(timeout=10) as http,
        connect(address, "alice") as chat,
    ):
        conversation_id, two = await _two_turns(chat)
        await chat.send(type="subscribe", conversation_id=conversation_id)
        url = (
            f"http://{address}/users/alice/conversations/{conversation_id}"
            f"/messages/{two['message_id']}/edit"
        )
        body = {"message": "TWO", "client_message_id": "e-1"}
        first = await http.post(url, json=body)
        streamed = await chat.collect()
        asked = len(fake_groq.requests)
        again = await http.post(url, json=body)
        other = await http.post(url, json={**body, "message": "something else"})
        malformed = await http.post(url, json={**body, "client_message_id": "x" * 129})
        read = await http.get(f"http://{address}/users/alice/conversations/{conversation_id}")

    assert first.status_code == 202, first.text
    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    assert first.json()["reply_id"] == streamed.reply["message_id"]
    assert len(fake_groq.requests) == asked
    assert (other.status_code, other.json()["code"]) == (400, "invalid_request")
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["field"] == "client_message_id"
    history = read.json()["messages"]
    assert [m["content"] for m in history] == ["one", "Reply 1: one", "TWO", "Reply 3: TWO"]
    assert _siblings(history, "TWO") == [two["message_id"], first.json()["message_id"]]


async def test_a_regenerate_resent_gets_the_stored_reply_not_a_third_version(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            first = await chat.turn("question")
            conversation_id = first.ack["conversation_id"]
            regenerate = {
                "type": "regenerate",
                "conversation_id": conversation_id,
                "client_message_id": "r-1",
            }
            await chat.send(**regenerate)
            again = await chat.collect()
            then = await chat.turn("more", conversation_id)
        asked = len(fake_groq.requests)
        async with connect(address, "alice") as retry:  # the connection dropped: resend
            await retry.send(**regenerate)
            resent = await retry.collect()
            history = await retry.history(conversation_id)

    assert again.ack["message_id"] == first.ack["message_id"]
    assert resent.ack["message_id"] == first.ack["message_id"]
    assert resent.reply["message_id"] == again.reply["message_id"]
    assert resent.reply["content"] == again.reply["content"] == "Reply 2: question"
    assert len(fake_groq.requests) == asked  # not answered again
    assert [m["content"] for m in history] == [
        "question",
        "Reply 2: question",
        "more",
        then.reply["content"],
    ]
    assert _siblings(history, "Reply 2: question") == [
        first.reply["message_id"],
        again.reply["message_id"],
    ]
