"""LangChain's `create_agent` with `HumanInTheLoopMiddleware`, compiled as it comes: its
requests are `approval_required`, and `approve` (with `args`: an edit) and `deny` reach it
in the decision shape it expects, batched or per call."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

ARGS = {"amount": 5, "to": "bob"}


def _agent(settings: Settings, name: str = "hitl_agent") -> Settings:
    return msgspec.structs.replace(settings, graph=f"tests.interrupt_graphs:{name}")


async def _asked(chat: ChatClient, fake_groq: FakeGroq) -> list[Frame]:
    fake_groq.tool_calls.append([("transfer", ARGS)])
    await chat.send(message="send bob five dollars")
    frames = await chat.until_any("approval_required", "message", "error")
    assert [f["type"] for f in frames if f["type"] != "token"] == [
        "ack",
        "tool_call",
        "approval_required",
    ], frames
    return [f for f in frames if f["type"] != "token"]


async def _decided(chat: ChatClient, **frame: Any) -> list[Frame]:
    await chat.send(**frame)
    frames = await chat.until_any("message", "error")
    return [f for f in frames if f["type"] in {"tool_result", "message", "error"}]


async def test_a_request_shows_the_call_and_an_approval_runs_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_agent(settings)) as address, connect(address, "alice") as chat:
        ack, call, waiting = await _asked(chat, fake_groq)
        conversation_id = ack["conversation_id"]
        assert waiting == {
            "type": "approval_required",
            "conversation_id": conversation_id,
            "tool_call_id": call["tool_call_id"],
            "name": "transfer",
            "args": ARGS,
            "interrupt_id": waiting["interrupt_id"],
            "description": f"Tool execution requires approval\n\nTool: transfer\nArgs: {ARGS}",
            "decisions": ["approve", "edit", "deny"],
            "seq": waiting["seq"],
        }
        await chat.send(type="history", conversation_id=conversation_id)
        history = await chat.receive()
        assert history["pending_approval"]["tool_call_id"] == call["tool_call_id"]
        assert [p["tool_call_id"] for p in history["pending_interrupts"]] == [call["tool_call_id"]]
        refused = await chat.error(message="hello?", conversation_id=conversation_id)
        assert (refused["code"], refused["interrupt_id"]) == (
            "approval_pending",
            waiting["interrupt_id"],
        )
        frames = await _decided(
            chat, type="approve", conversation_id=conversation_id, tool_call_id=call["tool_call_id"]
        )
    assert (frames[0]["content"], frames[0]["is_error"]) == ("sent $5 to bob", False)
    assert frames[-1]["content"] == "Tools said: sent $5 to bob"


async def test_an_approval_with_args_is_an_edit_the_tool_runs_with(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_agent(settings)) as address, connect(address, "alice") as chat:
        ack, call, _ = await _asked(chat, fake_groq)
        frames = await _decided(
            chat,
            type="approve",
            conversation_id=ack["conversation_id"],
            tool_call_id=call["tool_call_id"],
            args={"amount": 3, "to": "bob"},
        )
    result = frames[0]
    assert result["type"] == "tool_result"
    assert result["content"].startswith("Note: a human reviewer replaced this tool call")
    assert result["content"].endswith("sent $3 to bob")
    assert frames[-1]["type"] == "message"


async def test_a_denial_is_a_rejection_and_the_tool_never_runs(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_agent(settings)) as address, connect(address, "alice") as chat:
        ack, call, _ = await _asked(chat, fake_groq)
        frames = await _decided(
            chat,
            type="deny",
            conversation_id=ack["conversation_id"],
            tool_call_id=call["tool_call_id"],
        )
    results = [f for f in frames if f["type"] == "tool_result"]
    assert [(r["is_error"], r["tool_call_id"]) for r in results] == [(True, call["tool_call_id"])]
    assert results[0]["content"].startswith("User rejected the tool call for `transfer`")
    assert frames[-1]["content"].startswith("Tools said: User rejected")


async def test_per_call_requests_offer_only_their_allowed_decisions(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    per_call = _agent(settings, "hitl_agent_per_call")
    async with serve_threadline(per_call) as address, connect(address, "alice") as chat:
        ack, call, waiting = await _asked(chat, fake_groq)
        conversation_id = ack["conversation_id"]
        assert (waiting["tool_call_id"], waiting["args"]) == (call["tool_call_id"], ARGS)
        assert waiting["decisions"] == ["approve", "deny"]
        edit = await chat.error(
            type="approve",
            conversation_id=conversation_id,
            tool_call_id=call["tool_call_id"],
            args={"amount": 500, "to": "mallory"},
        )
        assert edit["code"] == "invalid_frame"
        assert "edit" in edit["detail"]
    # Still waiting after a restart.
    async with serve_threadline(per_call) as address, connect(address, "alice") as chat:
        frames = await _decided(
            chat, type="approve", conversation_id=conversation_id, tool_call_id=call["tool_call_id"]
        )
    assert frames[0]["content"] == "sent $5 to bob"
    assert frames[-1]["content"] == "Tools said: sent $5 to bob"
