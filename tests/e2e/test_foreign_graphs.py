"""Graphs nobody here wrote (tests/foreign_graphs.py), served through THREADLINE_GRAPH over
real sockets, with the real ChatGroq client against the fake Groq: each streams its tokens,
sends each tool step once, keeps a history the model accepts, and survives a restart."""

from __future__ import annotations

from collections import deque

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.foreign_graphs import ALICE, BOB, BROKE, MATH_EXPERT, SUPERVISOR
from tests.frames import agents, called, kinds, roles, say, streamed
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _serving(settings: Settings, builder: str) -> Settings:
    return msgspec.structs.replace(settings, graph=f"tests.foreign_graphs:{builder}")


async def test_a_prebuilt_agent_whose_tool_raises_answers_and_the_conversation_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    configured = _serving(settings, "react_agent")
    fake_groq.tool_calls.append([("explode", {"reason": "on purpose"})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        first = await say(chat, "break something")
        conversation_id = first[0]["conversation_id"]
        assert kinds(first) == ["ack", "tool_call", "tool_result", "message"]
        result = next(f for f in first if f["type"] == "tool_result")
        assert result["is_error"] is True
        assert f"{BROKE}: on purpose" in result["content"]
        # The model read the failure as the call's result and answered.
        reply = first[-1]
        assert reply["content"].startswith("Tools said: ")
        assert BROKE in reply["content"]
        assert streamed(first) == reply["content"]
        second = await say(chat, "thanks", conversation_id)
        assert kinds(second) == ["ack", "message"]
        assert second[-1]["content"] == "Reply 3: thanks"
        await chat.send(type="regenerate", conversation_id=conversation_id)
        regenerated = await chat.until_any("message", "error")
        assert kinds(regenerated) == ["ack", "message"]
        assert regenerated[-1]["content"] == "Reply 4: thanks"
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        after = await say(chat, "still there?", conversation_id)
        history = await chat.history(conversation_id)
    assert after[-1]["content"] == "Reply 5: still there?"
    assert roles(history) == [
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant", "user", "assistant"),
    ]
    assert history[2]["is_error"] is True
    # The model was sent a valid history: the failed call with its result.
    assert [m["role"] for m in fake_groq.requests[-1]["messages"]] == [
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant", "user"),
    ]


async def test_a_tool_node_told_to_raise_fails_its_turn_but_never_the_conversation(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    configured = _serving(settings, "strict_react_agent")
    fake_groq.tool_calls.append([("explode", {"reason": "on purpose"})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        first = await say(chat, "break something")
        conversation_id = first[0]["conversation_id"]
        # The graph's author asked for the error: the turn fails, its call answered.
        assert kinds(first) == ["ack", "tool_call", "tool_result", "error"]
        result = next(f for f in first if f["type"] == "tool_result")
        assert result["is_error"] is True
        second = await say(chat, "are you there?", conversation_id)
        assert second[-1]["content"] == "Reply 2: are you there?"
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        third = await say(chat, "and now?", conversation_id)
        history = await chat.history(conversation_id)
    assert third[-1]["content"] == "Reply 3: and now?"
    assert roles(history) == [
        *("user", "assistant", "tool"),
        *("user", "assistant", "user", "assistant"),
    ]
    assert history[2]["is_error"] is True


async def test_a_turn_out_of_time_in_a_tool_leaves_its_call_answered(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    configured = msgspec.structs.replace(_serving(settings, "react_agent"), turn_timeout=2.0)
    fake_groq.tool_calls.append([("nap", {"seconds": 60})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        first = await say(chat, "take a long nap")
        conversation_id = first[0]["conversation_id"]
        assert kinds(first) == ["ack", "tool_call", "tool_result", "error"]
        assert first[-2]["is_error"] is True
        second = await say(chat, "awake?", conversation_id)
        assert second[-1]["content"] == "Reply 2: awake?"
        history = await chat.history(conversation_id)
    assert roles(history) == [*("user", "assistant", "tool"), *("user", "assistant")]


@pytest.mark.parametrize("builder", ["dataclass_agent", "pydantic_agent"])
async def test_a_state_of_any_kind_keeps_its_messages_under_its_own_name(
    settings: Settings, fake_groq: FakeGroq, builder: str
) -> None:
    configured = _serving(settings, builder)
    fake_groq.tool_calls.append([("add", {"a": 2, "b": 3})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        first = await say(chat, "what is 2 + 3?")
        conversation_id = first[0]["conversation_id"]
        assert kinds(first) == ["ack", "tool_call", "tool_result", "message"]
        assert next(f for f in first if f["type"] == "tool_result")["content"] == "5"
        reply = first[-1]
        assert reply["content"] == "Tools said: 5"
        assert streamed(first) == reply["content"]
        # Earlier steps are not sent again, though the pydantic graph's node returns them.
        second = await say(chat, "thanks", conversation_id)
        assert kinds(second) == ["ack", "message"]
        assert second[-1]["content"] == "Reply 3: thanks"
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        third = await say(chat, "bye", conversation_id)
        history = await chat.history(conversation_id)
    assert kinds(third) == ["ack", "message"]
    assert third[-1]["content"] == "Reply 4: bye"
    assert roles(history) == [
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant", "user", "assistant"),
    ]


async def test_a_supervisor_team_streams_each_agent_and_sends_each_tool_step_once(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    configured = _serving(settings, "supervisor")
    fake_groq.agent_calls[SUPERVISOR] = deque([[("transfer_to_math_expert", {})]])
    fake_groq.agent_calls[MATH_EXPERT] = deque([[("add", {"a": 2, "b": 3})]])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        first = await say(chat, "what is 2 + 3?")
        conversation_id = first[0]["conversation_id"]
        assert called(first) == ["transfer_to_math_expert", "add", "transfer_back_to_supervisor"]
        results = [f for f in first if f["type"] == "tool_result"]
        assert [(r["name"], r["is_error"]) for r in results] == [
            ("transfer_to_math_expert", False),
            ("add", False),
            ("transfer_back_to_supervisor", False),
        ]
        assert results[1]["content"] == "5"
        # Each agent's words streamed as they came, naming the agent.
        assert agents(first) == ["math_expert", "supervisor"]
        assert streamed(first, "math_expert") == "Tools said: 5"
        reply = first[-1]
        assert streamed(first, "supervisor") == reply["content"]
        said = [f for f in first if f["type"] == "token" and f["agent"] == "supervisor"]
        assert {t["message_id"] for t in said} == {reply["message_id"]}
        second = await say(chat, "thanks", conversation_id)
        assert kinds(second) == ["ack", "message"]
        assert agents(second) == ["supervisor"]
        assert second[-1]["content"].endswith(": thanks")
        history = await chat.history(conversation_id)
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        third = await say(chat, "bye", conversation_id)
        after = await chat.history(conversation_id)
    assert kinds(third) == ["ack", "message"]
    assert third[-1]["content"].endswith(": bye")
    assert after[: len(history)] == history
    assert [m["content"] for m in after if m["role"] == "user"] == [
        "what is 2 + 3?",
        "thanks",
        "bye",
    ]
    # History is what the graph keeps: the supervisor keeps each agent's last message
    # (its handoffs), not the agent's own tool steps, which only streamed.
    assert [m["name"] for m in after if m["role"] == "tool"] == [
        "transfer_to_math_expert",
        "transfer_back_to_supervisor",
    ]


async def test_a_swarm_streams_the_active_agent_and_keeps_it_across_a_restart(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    configured = _serving(settings, "swarm")
    fake_groq.agent_calls[ALICE] = deque([[("transfer_to_bob", {})]])
    fake_groq.agent_calls[BOB] = deque([[("add", {"a": 2, "b": 3})]])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        first = await say(chat, "what is 2 + 3?")
        conversation_id = first[0]["conversation_id"]
        assert called(first) == ["transfer_to_bob", "add"]
        reply = first[-1]
        assert reply["content"] == "Tools said: 5"
        assert agents(first) == ["bob"]
        assert streamed(first, "bob") == reply["content"]
        second = await say(chat, "thanks", conversation_id)
        assert kinds(second) == ["ack", "message"]
        assert agents(second) == ["bob"]
        history = await chat.history(conversation_id)
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        third = await say(chat, "bye", conversation_id)
        after = await chat.history(conversation_id)
    assert kinds(third) == ["ack", "message"]
    assert agents(third) == ["bob"]  # the swarm's active agent, kept in its state
    assert fake_groq.requests[-1]["messages"][0]["content"] == BOB
    assert after[: len(history)] == history
    assert [m["content"] for m in after if m["role"] == "user"] == [
        "what is 2 + 3?",
        "thanks",
        "bye",
    ]
