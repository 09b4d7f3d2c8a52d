"""Human in the loop: a tool marked for approval pauses the reply until the user approves
or denies the call, from any socket, also after a restart."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _approving(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, approve_tools="calculator")


async def _paused(chat: ChatClient, fake_groq: FakeGroq, expression: str) -> list[Frame]:
    fake_groq.tool_calls.append([("calculator", {"expression": expression})])
    await chat.send(message=f"what is {expression}?")
    frames = await chat.until_any("approval_required", "message", "error")
    assert [f["type"] for f in frames] == ["ack", "tool_call", "approval_required"]
    return frames


async def _detail(address: str, conversation_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/users/alice/conversations/{conversation_id}")
    body: dict[str, Any] = response.json()
    return body


async def test_an_approved_call_runs_and_the_reply_goes_on_from_another_socket(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_approving(settings)) as address:
        async with connect(address, "alice") as first, connect(address, "alice") as second:
            ack, call, waiting = await _paused(first, fake_groq, "6 * 7")
            conversation_id = ack["conversation_id"]
            assert waiting == {
                "type": "approval_required",
                "conversation_id": conversation_id,
                "tool_call_id": call["tool_call_id"],
                "name": "calculator",
                "args": {"expression": "6 * 7"},
                "interrupt_id": waiting["interrupt_id"],
                "decisions": ["approve", "deny"],
                "seq": call["seq"] + 1,
            }
            assert waiting["interrupt_id"]
            assert len(fake_groq.requests) == 1  # paused: the tool has not run
            history = await second.history(conversation_id)
            assert [m["role"] for m in history] == ["user", "assistant"]
            detail = await _detail(address, conversation_id)
            assert detail["pending_approval"]["tool_call_id"] == call["tool_call_id"]

            await second.send(
                type="approve", conversation_id=conversation_id, tool_call_id=call["tool_call_id"]
            )
            frames = await second.until("message")
        assert [f["type"] for f in frames if f["type"] != "token"] == ["tool_result", "message"]
        assert frames[0]["content"] == "6 * 7 = 42"
        assert frames[-1]["content"] == "Tools said: 6 * 7 = 42"
        detail = await _detail(address, conversation_id)
    assert "pending_approval" not in detail or detail["pending_approval"] is None
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "tool", "assistant"]


async def test_a_denied_call_is_answered_as_denied_and_never_runs(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_approving(settings)) as address, connect(address, "alice") as chat:
        ack, call, _ = await _paused(chat, fake_groq, "1 + 1")
        await chat.send(
            type="deny", conversation_id=ack["conversation_id"], tool_call_id=call["tool_call_id"]
        )
        frames = await chat.until("message")
    result = frames[0]
    assert (result["type"], result["is_error"]) == ("tool_result", True)
    assert result["content"] == "the user denied this call"
    assert frames[-1]["content"] == "Tools said: the user denied this call"


async def test_while_a_call_waits_the_conversation_takes_nothing_else(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_approving(settings)) as address, connect(address, "alice") as chat:
        ack, call, _ = await _paused(chat, fake_groq, "2 + 2")
        conversation_id = ack["conversation_id"]
        refused = await chat.error(message="never mind", conversation_id=conversation_id)
        assert (refused["code"], refused["retryable"]) == ("approval_pending", False)
        again = await chat.error(type="regenerate", conversation_id=conversation_id)
        assert again["code"] == "approval_pending"
        wrong = await chat.error(
            type="approve", conversation_id=conversation_id, tool_call_id="call_nope"
        )
        assert wrong["code"] == "nothing_to_approve"
        history = await chat.history(conversation_id)
        assert [m["role"] for m in history] == ["user", "assistant"]  # nothing was added
        async with connect(address, "mallory") as mallory:
            foreign = await mallory.error(
                type="approve", conversation_id=conversation_id, tool_call_id=call["tool_call_id"]
            )
            assert foreign["code"] == "conversation_not_found"
        # The approval still works, and then the conversation goes on.
        await chat.send(
            type="approve", conversation_id=conversation_id, tool_call_id=call["tool_call_id"]
        )
        await chat.until("message")
        after = await chat.turn("thanks", conversation_id)
        assert after.reply["content"].startswith("Reply ")


async def test_a_pending_approval_survives_a_restart(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = _approving(settings)
    async with serve_threadline(approving) as address, connect(address, "alice") as chat:
        ack, call, _ = await _paused(chat, fake_groq, "10 / 4")
    async with serve_threadline(approving) as address, connect(address, "alice") as chat:
        await chat.send(type="history", conversation_id=ack["conversation_id"])
        history = await chat.receive()
        assert history["pending_approval"] == {
            "tool_call_id": call["tool_call_id"],
            "name": "calculator",
            "args": {"expression": "10 / 4"},
        }
        await chat.send(
            type="approve",
            conversation_id=ack["conversation_id"],
            tool_call_id=call["tool_call_id"],
        )
        frames = await chat.until("message")
    assert frames[0]["content"] == "10 / 4 = 2.5"
    assert frames[-1]["content"] == "Tools said: 10 / 4 = 2.5"


async def test_a_resend_while_a_call_waits_is_told_what_it_waits_for(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_approving(settings)) as address, connect(address, "alice") as chat:
        fake_groq.tool_calls.append([("calculator", {"expression": "3 + 4"})])
        await chat.send(message="3+4", client_message_id="c-1")
        first = await chat.until("approval_required")
        conversation_id = first[0]["conversation_id"]
        await chat.send(message="3+4", client_message_id="c-1", conversation_id=conversation_id)
        again = await chat.until_any("approval_required", "error")
    assert [f["type"] for f in again] == ["ack", "approval_required"]
    assert again[0]["message_id"] == first[0]["message_id"]
    assert again[-1]["tool_call_id"] == first[-1]["tool_call_id"]
