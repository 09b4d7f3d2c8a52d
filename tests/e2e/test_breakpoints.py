"""Breakpoints compiled into a graph (`interrupt_before` / `interrupt_after`): a run that
stops at one tells the client with an `interrupt` frame, waits (also across a restart),
refuses new messages, and goes on with `respond` or ends with `cancel_interrupt`."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.frames import kinds, say
from tests.lgclient import client
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

GRAPHS = ("before_act", "after_think", "before_think")


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Settings:
    """The three graphs of tests/breakpoint_graphs.py, through a `langgraph.json`."""
    graphs = {name: f"tests.breakpoint_graphs:{name}" for name in GRAPHS}
    graphs["reviewed"] = "tests.foreign_graphs:reviewed_react_agent"
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    return msgspec.structs.replace(settings, langgraph_config=str(config))


async def _respond(chat: ChatClient, paused: Frame) -> list[Frame]:
    await chat.send(
        type="respond",
        conversation_id=paused["conversation_id"],
        interrupt_id=paused["interrupt_id"],
        value=None,
    )
    return await chat.until_any("message", "error", "interrupt")


async def _pending(chat: ChatClient, conversation_id: str) -> list[Frame]:
    await chat.send(type="history", conversation_id=conversation_id)
    history = await chat.receive()
    pending: list[Frame] = history["pending_interrupts"]
    return pending


@pytest.mark.parametrize(
    ("graph", "value"),
    [
        ("before_act", {"interrupt_before": ["act"]}),
        ("after_think", {"interrupt_after": ["think"]}),
    ],
)
async def test_a_run_stopped_at_a_breakpoint_waits_and_goes_on_when_answered(
    served: Settings, graph: str, value: dict[str, list[str]]
) -> None:
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "hello", assistant_id=graph)
        assert kinds(first) == ["ack", "interrupt"]
        paused = first[-1]
        conversation_id = paused["conversation_id"]
        assert paused["value"] == value
        refused = await chat.error(message="hello?", conversation_id=conversation_id)
        assert (refused["code"], refused["interrupt_id"]) == (
            "approval_pending",
            paused["interrupt_id"],
        )
    # After a restart it still waits, and says so in history.
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        pending = await _pending(chat, conversation_id)
        assert pending == [{k: v for k, v in paused.items() if k != "seq"}]
        done = await _respond(chat, paused)
        assert done[-1]["type"] == "message"
        assert done[-1]["content"] == "acted 1"
        assert await _pending(chat, conversation_id) == []
        # The next turn stops there again, under a new id.
        again = await say(chat, "once more", conversation_id)
        assert kinds(again) == ["ack", "interrupt"]
        assert again[-1]["interrupt_id"] != paused["interrupt_id"]
        history = await chat.history(conversation_id)
    assert [m["content"] for m in history] == [
        *("hello", "thought 1", "acted 1"),
        *("once more", "thought 2"),
    ]


async def test_a_cancelled_breakpoint_ends_the_turn_and_the_next_message_starts_afresh(
    served: Settings,
) -> None:
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "hello", assistant_id="before_act")
        conversation_id = first[-1]["conversation_id"]
        await chat.send(type="cancel_interrupt", conversation_id=conversation_id)
        stopped = await chat.until_any("message", "error")
        assert (stopped[-1]["type"], stopped[-1]["stopped"]) == ("message", True)
        assert await _pending(chat, conversation_id) == []
        second = await say(chat, "again", conversation_id)
        assert kinds(second) == ["ack", "interrupt"]
        history = await chat.history(conversation_id)
    # What waited never ran: the new message was thought about, and nothing acted.
    assert [m["content"] for m in history] == ["hello", "thought 1", "", "again", "thought 2"]


async def test_a_breakpoint_before_the_first_node_stops_before_anything_runs(
    served: Settings,
) -> None:
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "hello", assistant_id="before_think")
        assert kinds(first) == ["ack", "interrupt"]
        paused = first[-1]
        assert paused["value"] == {"interrupt_before": ["think"]}
        conversation_id = paused["conversation_id"]
        assert [m["content"] for m in await chat.history(conversation_id)] == ["hello"]
        done = await _respond(chat, paused)
        assert done[-1]["content"] == "acted 1"
        history = await chat.history(conversation_id)
    assert [m["content"] for m in history] == ["hello", "thought 1", "acted 1"]


async def test_a_prebuilt_agent_stopping_before_its_tools_runs_them_once_answered(
    served: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("add", {"a": 2, "b": 3})])
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        first = await say(chat, "what is 2 + 3?", assistant_id="reviewed")
        assert kinds(first) == ["ack", "tool_call", "interrupt"]
        assert first[-1]["value"] == {"interrupt_before": ["tools"]}
        done = await _respond(chat, first[-1])
        assert kinds(done) == ["tool_result", "message"]
        assert done[-1]["content"] == "Tools said: 5"
        conversation_id = first[0]["conversation_id"]
        after = await say(chat, "thanks", conversation_id)
        history = await chat.history(conversation_id)
    assert kinds(after) == ["ack", "message"]
    assert [m["role"] for m in history] == [
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant"),
    ]


async def test_a_thread_stopped_at_a_breakpoint_is_interrupted_for_langgraph_clients(
    served: Settings,
) -> None:
    async with (
        serve_threadline(served) as address,
        connect(address, "alice") as chat,
        client(address, "alice") as lg,
    ):
        paused = (await say(chat, "hello", assistant_id="before_act"))[-1]
        assert paused["type"] == "interrupt"
        assert (await lg.threads.get(paused["conversation_id"]))["status"] == "interrupted"
        assert (await _respond(chat, paused))[-1]["type"] == "message"
        assert (await lg.threads.get(paused["conversation_id"]))["status"] == "idle"
