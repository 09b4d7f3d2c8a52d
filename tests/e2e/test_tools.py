"""The built-in agent's tools over a real socket: calls and results streamed as frames,
stored in order, shown in history; failures are results, not failed turns."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _kinds(frames: list[Frame]) -> list[str]:
    return [f["type"] for f in frames if f["type"] != "token"]


async def _detail(address: str, conversation_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/users/alice/conversations/{conversation_id}")
    assert response.status_code == 200
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _ask(chat: ChatClient, message: str, **extra: Any) -> list[Frame]:
    await chat.send(message=message, **extra)
    return await chat.until_any("message", "error", within=20)


async def test_a_tool_call_and_its_result_are_streamed_then_stored_in_order(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "12 * (3 + 4)"})])
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        frames = await _ask(chat, "What is 12 * (3 + 4)?")
        assert _kinds(frames) == ["ack", "tool_call", "tool_result", "message"]
        ack, call, result, reply = [f for f in frames if f["type"] != "token"]
        conversation_id = ack["conversation_id"]
        assert (call["name"], call["args"]) == ("calculator", {"expression": "12 * (3 + 4)"})
        assert call["message_id"] != reply["message_id"]
        assert result == {
            "type": "tool_result",
            "conversation_id": conversation_id,
            "tool_call_id": call["tool_call_id"],
            "name": "calculator",
            "content": "12 * (3 + 4) = 84",
            "is_error": False,
            "seq": call["seq"] + 1,
            "message_id": result["message_id"],
        }
        assert call["seq"] == 1  # the call came before any token of the answer
        assert reply["content"] == "Tools said: 12 * (3 + 4) = 84"
        assert "".join(f["delta"] for f in frames if f["type"] == "token") == reply["content"]
        history = await chat.history(conversation_id)
        detail = await _detail(address, conversation_id)
    # The model's second call saw its call and the result.
    assert [m["role"] for m in fake_groq.requests[-1]["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
    ]
    for items in (history, detail):
        assert [m["role"] for m in items] == ["user", "assistant", "tool", "assistant"]
        assert items[2]["message_id"] == result["message_id"]  # the stored tool message
        asked, answered = items[1], items[2]
        assert asked["message_id"] == call["message_id"]
        assert asked["tool_calls"] == [
            {"tool_call_id": call["tool_call_id"], "name": "calculator", "args": call["args"]}
        ]
        assert (answered["tool_call_id"], answered["name"]) == (call["tool_call_id"], "calculator")
        assert answered["content"] == "12 * (3 + 4) = 84"
        assert items[3]["content"] == reply["content"]


async def test_a_failing_or_unknown_tool_is_an_error_result_and_the_turn_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "1 / 0"}), ("shell", {"cmd": "id"})])
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        frames = await _ask(chat, "Divide one by zero, then run id")
        results = [f for f in frames if f["type"] == "tool_result"]
        assert [(r["name"], r["content"], r["is_error"]) for r in results] == [
            ("calculator", "division by zero", True),
            ("shell", "there is no tool named 'shell'", True),
        ]
        assert frames[-1]["type"] == "message"
        assert (
            frames[-1]["content"] == "Tools said: division by zero | there is no tool named 'shell'"
        )
        history = await chat.history(frames[0]["conversation_id"])
    assert [m.get("is_error", False) for m in history if m["role"] == "tool"] == [True, True]


async def test_two_tool_calls_in_one_step_are_both_answered(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append(
        [("calculator", {"expression": "2 ** 8"}), ("clock", {"timezone": "Asia/Tokyo"})]
    )
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        frames = await _ask(chat, "2**8, and the time in Tokyo?")
    assert _kinds(frames) == [
        "ack",
        "tool_call",
        "tool_call",
        "tool_result",
        "tool_result",
        "message",
    ]
    calls = [f for f in frames if f["type"] == "tool_call"]
    results = [f for f in frames if f["type"] == "tool_result"]
    assert calls[0]["message_id"] == calls[1]["message_id"]  # one message asked for both
    assert [r["tool_call_id"] for r in results] == [c["tool_call_id"] for c in calls]
    assert results[0]["content"] == "2 ** 8 = 256"
    assert "in Asia/Tokyo" in results[1]["content"]


async def test_a_stop_after_a_tool_keeps_the_call_its_result_and_the_partial_answer(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    fake_groq.default = Fault(token_delay=0.2)
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message="six times seven, slowly")
        frames = await chat.until("token")
        conversation_id = frames[0]["conversation_id"]
        await chat.send(type="stop", conversation_id=conversation_id)
        stopped = (await chat.until("message"))[-1]
        assert stopped["stopped"] is True
        history = await chat.history(conversation_id)
        assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
        assert history[-1]["stopped"] is True
        fake_groq.default = Fault()
        # The conversation goes on: the model gets the call with its result.
        after = await chat.turn("and now?", conversation_id)
    assert after.reply["content"].startswith("Reply ")
    roles = [m["role"] for m in fake_groq.requests[-1]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]


async def test_regenerate_replaces_the_tool_steps_with_the_new_answer(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "1 + 1"})])
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await _ask(chat, "1+1"))[0]["conversation_id"]
        await chat.send(type="regenerate", conversation_id=conversation_id)
        regenerated = (await chat.until("message"))[-1]
        history = await chat.history(conversation_id)
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[-1]["content"] == regenerated["content"]


async def test_a_resend_after_a_tool_turn_gets_the_stored_answer(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "3 * 3"})])
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await _ask(chat, "3*3", client_message_id="m-1")
        conversation_id = first[0]["conversation_id"]
        await chat.send(message="3*3", client_message_id="m-1", conversation_id=conversation_id)
        again = await chat.until("message")
    assert again[-1]["content"] == first[-1]["content"] == "Tools said: 3 * 3 = 9"
    assert len(fake_groq.requests) == 2  # the resend called no model


async def test_every_model_call_of_a_turn_counts_towards_usage(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "5 - 2"})])
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            await _ask(chat, "5-2")
        async with httpx.AsyncClient() as http:
            usage = (await http.get(f"http://{address}/users/alice/usage")).json()
    # The call that asked for the tool (10 prompt tokens), then the answer: 10 + 7 words
    # ("Tools said: 5 - 2 = 3").
    assert usage["tokens_today"] == 10 + 17


@pytest.mark.parametrize(
    ("question", "tool", "answer"),
    [
        ("What is 12*7?", "calculator", "12*7 = 84"),
        ("what time is it in Europe/Paris?", "clock", "in Europe/Paris"),
    ],
)
async def test_the_offline_model_uses_the_tools_by_itself(
    settings: Settings, question: str, tool: str, answer: str
) -> None:
    offline = msgspec.structs.replace(settings, groq_api_key=None)
    async with serve_threadline(offline) as address, connect(address, "alice") as chat:
        frames = await _ask(chat, question)
    assert _kinds(frames) == ["ack", "tool_call", "tool_result", "message"]
    assert frames[1]["name"] == tool
    result = next(f for f in frames if f["type"] == "tool_result")
    assert answer in result["content"]
    assert answer in frames[-1]["content"]


async def test_without_tools_the_model_is_offered_none(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "1 + 1"})])
    plain = msgspec.structs.replace(settings, tools="")
    async with serve_threadline(plain) as address, connect(address, "alice") as chat:
        frames = await _ask(chat, "1+1")
    assert _kinds(frames) == ["ack", "message"]
    assert "tools" not in fake_groq.requests[-1]


async def test_search_finds_only_the_users_own_conversations(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as alice:
            kumquat = (await alice.turn("I planted a kumquat tree")).ack["conversation_id"]
        async with connect(address, "bob") as bob:
            await bob.turn("My secret fruit is durian")
        fake_groq.tool_calls.append(
            [
                ("search_conversations", {"query": "KUMQUAT"}),
                ("search_conversations", {"query": "durian"}),
            ]
        )
        async with connect(address, "alice") as alice:
            frames = await _ask(alice, "what did I plant, and what is bob's fruit?")
    schema = next(
        t
        for t in fake_groq.requests[-1]["tools"]
        if t["function"]["name"] == "search_conversations"
    )
    assert set(schema["function"]["parameters"]["properties"]) == {"query"}  # no user to pick
    found, other = [f["content"] for f in frames if f["type"] == "tool_result"]
    assert f"(conversation {kumquat})" in found
    assert "I planted a kumquat tree" in found
    assert other == "No earlier conversation of this user mentions 'durian'."
