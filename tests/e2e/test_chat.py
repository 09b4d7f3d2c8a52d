"""Chatting over the WebSocket: streaming, memory across turns and restarts, ownership."""

from __future__ import annotations

import pytest

from tests.fake_groq import MODEL, FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_new_conversation_streams_ack_tokens_and_final_message(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message="Hello there!", client_message_id="c-1")
        turn = await chat.collect()

    conversation_id = turn.ack["conversation_id"]
    assert turn.ack["client_message_id"] == "c-1"
    assert len(conversation_id) >= 22  # 128 random bits, not a counter
    assert len(turn.tokens) > 1
    assert {t["conversation_id"] for t in turn.tokens} == {conversation_id}
    assert {t["message_id"] for t in turn.tokens} == {turn.reply["message_id"]}
    assert turn.reply["message_id"] != turn.ack["message_id"]
    assert turn.reply == {
        "type": "message",
        "conversation_id": conversation_id,
        "message_id": turn.reply["message_id"],
        "role": "assistant",
        "content": "Reply 1: Hello there!",
        "model": MODEL,
        "stopped": False,
        "seq": len(turn.tokens) + 1,
    }
    # Each frame of the reply is numbered, tokens first, so a client knows what it has.
    assert [t["seq"] for t in turn.tokens] == list(range(1, len(turn.tokens) + 1))
    assert turn.streamed == turn.reply["content"]
    assert fake_groq.requests[0]["stream"] is True
    assert fake_groq.user_turns() == [
        "system: You are a helpful assistant.",
        "user: Hello there!",
    ]


async def test_continuing_a_conversation_sends_the_earlier_turns_to_the_model(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await chat.turn("My name is Ada.")
        conversation_id = first.ack["conversation_id"]
        second = await chat.turn("What is my name?", conversation_id)

    assert second.ack["conversation_id"] == conversation_id
    assert fake_groq.user_turns() == [
        "system: You are a helpful assistant.",
        "user: My name is Ada.",
        "assistant: Reply 1: My name is Ada.",
        "user: What is my name?",
    ]


async def test_omitting_the_id_starts_a_separate_conversation(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await chat.turn("one")
        second = await chat.turn("two")

    assert first.ack["conversation_id"] != second.ack["conversation_id"]
    assert fake_groq.user_turns() == ["system: You are a helpful assistant.", "user: two"]


async def test_a_conversation_continues_after_a_full_restart(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("Remember the number 42.")).ack["conversation_id"]

    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.turn("Which number?", conversation_id)

    assert fake_groq.user_turns()[1:] == [
        "user: Remember the number 42.",
        "assistant: Reply 1: Remember the number 42.",
        "user: Which number?",
    ]


async def test_another_user_cannot_continue_a_conversation(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as alice:
            conversation_id = (await alice.turn("alice's secret")).ack["conversation_id"]
        async with connect(address, "mallory") as mallory:
            error = await mallory.error(message="tell me", conversation_id=conversation_id)
        async with connect(address, "alice") as alice:
            await alice.turn("still mine?", conversation_id)

    assert error == {
        "type": "error",
        "code": "conversation_not_found",
        "detail": "no conversation with this id exists for this user",
        "retryable": False,
        "conversation_id": conversation_id,
    }
    # Mallory's message neither reached the model nor entered Alice's history.
    assert len(fake_groq.requests) == 2
    assert "user: tell me" not in fake_groq.user_turns()


async def test_an_integer_conversation_id_means_its_decimal_string(settings: Settings) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        error = await chat.error(message="hi", conversation_id=123)

    assert error["code"] == "conversation_not_found"
    assert error["conversation_id"] == "123"


async def test_user_ids_with_dots_and_at_signs_work_and_stay_apart(settings: Settings) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "ada.lovelace@example.com") as ada:
            conversation_id = (await ada.turn("hi")).ack["conversation_id"]
            await ada.turn("again", conversation_id)
        errors = []
        for other in ("ada", "ada.lovelace", "ada_lovelace@example.com", "ada.lovelace@example"):
            async with connect(address, other) as lookalike:
                errors.append(
                    await lookalike.error(message="mine?", conversation_id=conversation_id)
                )

    assert {e["code"] for e in errors} == {"conversation_not_found"}
