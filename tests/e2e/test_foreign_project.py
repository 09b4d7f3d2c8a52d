"""Graphs nobody here wrote, exported as their documentation shows (compiled at import, on a
module-level model), served through a `langgraph.json` (tests/data/foreign_project), over
real sockets with the real ChatGroq client against the fake Groq: each assistant streams,
sends each tool step once, asks what it asks, and goes on after a restart."""

from __future__ import annotations

import shutil
import sys
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.foreign_graphs import ALICE, BOB, BROKE, MATH_EXPERT, SUPERVISOR
from tests.frames import agents, called, kinds, roles, say, streamed
from tests.lgclient import client
from tests.project import ROOT
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    """The project, its `.env` pointing at the fake Groq, as LANGGRAPH_CONFIG."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "data" / "foreign_project", project)
    env = f"GROQ_API_KEY=gsk_test_key_not_real\nGROQ_API_BASE={fake_groq.url}\n"
    (project / ".env").write_text(env, encoding="utf-8")
    for name in ("GROQ_API_KEY", "GROQ_API_BASE"):  # the env file sets them; restored after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    yield msgspec.structs.replace(settings, langgraph_config=str(project / "langgraph.json"))
    # The module-level model's connections end with the author's process; here, with the test.
    for module in list(sys.modules.values()):
        if Path(getattr(module, "__file__", None) or "/").is_relative_to(project):
            await module.model.async_client._client.close()


@pytest.mark.parametrize("assistant", ["react", "assistant"])
async def test_an_agent_compiled_at_import_answers_a_failing_tool_and_goes_on(
    served: Settings, fake_groq: FakeGroq, assistant: str
) -> None:
    fake_groq.tool_calls.append([("explode", {"reason": "on purpose"})])
    fake_groq.tool_calls.append([("add", {"a": 2, "b": 3})])
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "break something", assistant_id=assistant)
        conversation_id = first[0]["conversation_id"]
        assert kinds(first) == ["ack", "tool_call", "tool_result", "message"]
        result = next(f for f in first if f["type"] == "tool_result")
        assert result["is_error"] is True
        assert f"{BROKE}: on purpose" in result["content"]
        assert first[-1]["content"].startswith("Tools said: ")
        assert streamed(first) == first[-1]["content"]
        second = await say(chat, "what is 2 + 3?", conversation_id)
        # Only this turn's steps are frames.
        assert kinds(second) == ["ack", "tool_call", "tool_result", "message"]
        assert [f["content"] for f in second if f["type"] == "tool_result"] == ["5"]
        assert second[-1]["content"] == "Tools said: 5"
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        third = await say(chat, "thanks", conversation_id)
        history = await chat.history(conversation_id)
    assert kinds(third) == ["ack", "message"]
    assert third[-1]["content"] == "Reply 5: thanks"
    assert roles(history) == [
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant"),
    ]


async def test_a_middleware_request_compiled_at_import_waits_across_a_restart(
    served: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("transfer", {"amount": 5, "to": "bob"})])
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        asked = await say(chat, "send bob five dollars", assistant_id="approving")
        assert kinds(asked) == ["ack", "tool_call", "approval_required"]
        conversation_id, call = asked[0]["conversation_id"], asked[-1]
        assert (call["name"], call["args"]) == ("transfer", {"amount": 5, "to": "bob"})
        refused = await chat.error(message="hello?", conversation_id=conversation_id)
        assert refused["code"] == "approval_pending"
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        await chat.send(
            type="approve", conversation_id=conversation_id, tool_call_id=call["tool_call_id"]
        )
        done = await chat.until_any("message", "error")
        after = await say(chat, "thanks", conversation_id)
    assert kinds(done)[-2:] == ["tool_result", "message"]
    assert done[-1]["content"] == "Tools said: sent $5 to bob"
    assert after[-1]["content"].endswith(": thanks")


async def test_a_supervisor_compiled_as_documented_streams_each_agent(
    served: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.agent_calls[SUPERVISOR] = deque([[("transfer_to_math_expert", {})]])
    fake_groq.agent_calls[MATH_EXPERT] = deque([[("add", {"a": 2, "b": 3})]])
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "what is 2 + 3?", assistant_id="supervisor")
        conversation_id = first[0]["conversation_id"]
        assert called(first) == ["transfer_to_math_expert", "add", "transfer_back_to_supervisor"]
        assert agents(first) == ["math_expert", "supervisor"]
        assert streamed(first, "supervisor") == first[-1]["content"]
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        second = await say(chat, "thanks", conversation_id)
    assert kinds(second) == ["ack", "message"]
    assert agents(second) == ["supervisor"]


async def test_a_swarm_compiled_as_documented_keeps_its_active_agent(
    served: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.agent_calls[ALICE] = deque([[("transfer_to_bob", {})]])
    fake_groq.agent_calls[BOB] = deque([[("add", {"a": 2, "b": 3})]])
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "what is 2 + 3?", assistant_id="swarm")
        conversation_id = first[0]["conversation_id"]
        assert called(first) == ["transfer_to_bob", "add"]
        assert agents(first) == ["bob"]
        assert streamed(first, "bob") == first[-1]["content"] == "Tools said: 5"
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        second = await say(chat, "thanks", conversation_id)
    assert kinds(second) == ["ack", "message"]
    assert agents(second) == ["bob"]


async def test_a_supervisor_s_run_over_the_langgraph_api_names_its_agents_events(
    served: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.agent_calls[SUPERVISOR] = deque([[("transfer_to_math_expert", {})]])
    fake_groq.agent_calls[MATH_EXPERT] = deque([[("add", {"a": 2, "b": 3})]])
    question: dict[str, Any] = {"messages": [{"type": "human", "content": "what is 2 + 3?"}]}
    thanks: dict[str, Any] = {"messages": ["thanks"]}
    async with serve_threadline(served) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        parts = [
            p
            async for p in lg.runs.stream(
                thread_id,
                "supervisor",
                input=question,
                stream_mode=["values", "messages-tuple"],
                stream_subgraphs=True,
            )
        ]
        flat = [
            p
            async for p in lg.runs.stream(
                thread_id,
                "supervisor",
                input=thanks,
                stream_mode="messages-tuple",
            )
        ]
    names = {p.event for p in parts}
    assert {"messages|supervisor", "messages|math_expert"} <= names
    assert parts[-1].event == "values"  # the run's own state keeps its name
    assert parts[-1].data["messages"][-1]["type"] == "ai"
    assert {p.event for p in flat} == {"metadata", "messages"}
