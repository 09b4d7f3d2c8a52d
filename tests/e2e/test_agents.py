"""Several agents: a router picks a specialist each turn, with its own prompt and tools,
and the message frame names it (examples/agents.json)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.app import create_app
from threadline.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio

AGENTS = "examples/agents.json"


def _team(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, agents=AGENTS)


async def test_the_router_picks_a_specialist_per_turn_with_its_prompt_and_tools(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.routes.extend(["analyst", "assistant"])
    fake_groq.tool_calls.append([("calculator", {"expression": "3 * 14"})])
    async with serve_threadline(_team(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="what is 3 * 14?")
        frames = await chat.until("message")
        conversation_id = frames[0]["conversation_id"]
        second = await chat.turn("write me a haiku", conversation_id)
    assert [f["type"] for f in frames if f["type"] != "token"] == [
        "ack",
        "tool_call",
        "tool_result",
        "message",
    ]
    assert frames[-1]["agent"] == "analyst"
    assert second.reply["agent"] == "assistant"
    # The router saw both specialists and the user's message, never a token of it streamed.
    menu = fake_groq.route_requests[0]["messages"][0]["content"]
    assert "- analyst: arithmetic" in menu
    assert "(tools: calculator, clock, search_conversations)" in menu
    assert fake_groq.route_requests[0]["messages"][-1]["content"] == "what is 3 * 14?"
    assert len(fake_groq.route_requests) == 2  # once per turn, not per tool step
    # Each specialist answered with its own instructions and only its own tools.
    analyst, _, assistant = fake_groq.requests
    assert analyst["messages"][0]["content"].startswith("You are a precise assistant.")
    assert {t["function"]["name"] for t in analyst["tools"]} == {
        "calculator",
        "clock",
        "search_conversations",
    }
    assert assistant["messages"][0]["content"] == "You are a helpful assistant."
    assert "tools" not in assistant


async def test_with_one_agent_there_is_no_router(settings: Settings, fake_groq: FakeGroq) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        turn = await chat.turn("hello")
    assert "agent" not in turn.reply
    assert fake_groq.route_requests == []


async def test_the_offline_model_routes_by_itself(settings: Settings) -> None:
    offline = msgspec.structs.replace(_team(settings), groq_api_key=None)
    async with serve_threadline(offline) as address, connect(address, "alice") as chat:
        await chat.send(message="what is 6*7?")
        arithmetic = await chat.until("message")
        chatting = await chat.turn("tell me about tea", arithmetic[0]["conversation_id"])
    assert arithmetic[-1]["agent"] == "analyst"
    assert "6*7 = 42" in arithmetic[-1]["content"]
    assert chatting.reply["agent"] == "assistant"


def test_an_agents_file_that_cannot_be_read_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "twice.json").write_text(
        json.dumps(
            {"agents": [{"name": "a", "description": "x"}, {"name": "a", "description": "y"}]}
        )
    )
    with pytest.raises(SettingsError, match="AGENTS"):
        create_app(Settings(agents=str(tmp_path / "twice.json")))
    with pytest.raises(SettingsError, match="AGENTS"):
        create_app(Settings(agents=str(tmp_path / "missing.json")))
