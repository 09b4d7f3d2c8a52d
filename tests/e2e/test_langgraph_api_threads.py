"""The LangGraph API, driven by LangChain's own `langgraph_sdk` against a served Threadline:
assistants, threads (a thread is a conversation) and their state."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec
import pytest
from langgraph_sdk.errors import ConflictError, NotFoundError

from tests.fake_groq import FakeGroq, Fault
from tests.lgclient import GRAPH_NAMESPACE, client, rest
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_the_built_in_agent_is_the_one_assistant(settings: Settings) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        found = await lg.assistants.search()
        assert [a["graph_id"] for a in found] == ["threadline"]
        agent = found[0]
        assert agent["assistant_id"] == str(uuid.uuid5(GRAPH_NAMESPACE, "threadline"))
        assert await lg.assistants.get("threadline") == agent  # by graph name, or by id
        assert await lg.assistants.get(agent["assistant_id"]) == agent
        assert await lg.assistants.search(graph_id="another") == []
        graph = await lg.assistants.get_graph("threadline")
        assert {"__start__", "respond"} <= {node["id"] for node in graph["nodes"]}
        assert graph["edges"]
        schemas = await lg.assistants.get_schemas(agent["assistant_id"])
        assert schemas["graph_id"] == "threadline"
        assert "messages" in (schemas["input_schema"] or {})["properties"]
        with pytest.raises(NotFoundError):
            await lg.assistants.get("no-such-graph")
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://{address}/ok")).json() == {"ok": True}
            info = (await http.get(f"http://{address}/info")).json()
        assert info["version"]
        assert info["flags"]["assistants"] is True


async def test_a_thread_is_a_conversation_on_every_surface(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread = await lg.threads.create(metadata={"topic": "plants"})
        thread_id = thread["thread_id"]
        # Every thread is the `agent` graph's, as LangChain's chat UIs search them.
        graph = {
            "graph_id": "threadline",
            "assistant_id": str(uuid.uuid5(GRAPH_NAMESPACE, "threadline")),
        }
        assert (thread["status"], thread["metadata"]) == ("idle", {**graph, "topic": "plants"})
        # The page's sidebar (the REST list of `local`, AUTH_MODE=none's user) shows it.
        listed = await rest(address, "/users/local/conversations")
        assert thread_id in [c["conversation_id"] for c in listed["items"]]
        # It is continued over the WebSocket...
        async with connect(address, "local") as chat:
            turn = await chat.turn("How do I keep ferns?", conversation_id=thread_id)
        assert turn.reply["content"] == "Reply 1: How do I keep ferns?"
        # ...and its messages are the thread's values, as LangChain message dicts.
        state: Any = await lg.threads.get_state(thread_id)
        messages = state["values"]["messages"]
        assert [(m["type"], m["content"]) for m in messages] == [
            ("human", "How do I keep ferns?"),
            ("ai", "Reply 1: How do I keep ferns?"),
        ]
        assert all(m["id"] for m in messages)
        assert messages[1]["tool_calls"] == []
        assert state["next"] == []
        assert state["tasks"] == []
        assert state["checkpoint"]["thread_id"] == thread_id
        assert state["checkpoint"]["checkpoint_id"]
        fetched: Any = await lg.threads.get(thread_id)
        assert fetched["status"] == "idle"
        assert fetched["values"]["messages"] == messages
        # Metadata is merged, then searched by.
        await lg.threads.update(thread_id, metadata={"stage": "answered"})
        found = await lg.threads.search(metadata={"topic": "plants"})
        assert [t["thread_id"] for t in found] == [thread_id]
        assert found[0]["metadata"] == {**graph, "topic": "plants", "stage": "answered"}
        for key, value in graph.items():
            assert [t["thread_id"] for t in await lg.threads.search(metadata={key: value})] == [
                thread_id
            ]
        assert await lg.threads.search(metadata={"topic": "cars"}) == []
        assert [t["thread_id"] for t in await lg.threads.search(status="idle")] == [thread_id]
        assert await lg.threads.search(status="busy") == []


async def test_state_at_a_checkpoint_history_and_an_update(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        async with connect(address, "local") as chat:
            first = await chat.turn("one")
            thread_id = first.ack["conversation_id"]
            await chat.turn("two", conversation_id=thread_id)
        # A conversation made over the WebSocket is a thread, its messages its values.
        listed: list[Any] = await lg.threads.search()
        assert [t["thread_id"] for t in listed] == [thread_id]
        shown = [(m["type"], m["content"]) for m in listed[0]["values"]["messages"]]
        assert [text for kind, text in shown if kind == "human"] == ["one", "two"]
        history: list[Any] = await lg.threads.get_history(thread_id, limit=100)
        assert len(history) >= 2
        newest = history[0]
        assert newest == await lg.threads.get_state(thread_id)
        ids = [state["checkpoint"]["checkpoint_id"] for state in history]
        assert len(set(ids)) == len(ids)
        assert newest["parent_checkpoint"]["checkpoint_id"] == ids[1]
        older: Any = await lg.threads.get_state(thread_id, checkpoint_id=ids[1])
        assert older["checkpoint"]["checkpoint_id"] == ids[1]
        assert len(older["values"]["messages"]) < len(newest["values"]["messages"])
        before = await lg.threads.get_history(thread_id, limit=1, before=ids[0])
        assert [s["checkpoint"]["checkpoint_id"] for s in before] == [ids[1]]
        # An update is a checkpoint of its own; the conversation shows it everywhere.
        note = {"type": "ai", "content": "A note added by a script.", "id": "note-1"}
        updated = await lg.threads.update_state(thread_id, {"messages": [note]}, as_node="respond")
        assert updated["checkpoint"]["checkpoint_id"] not in ids
        state: Any = await lg.threads.get_state(thread_id)
        assert state["values"]["messages"][-1]["content"] == "A note added by a script."
        detail = await rest(address, f"/users/local/conversations/{thread_id}")
        assert detail["messages"][-1]["content"] == "A note added by a script."
        with pytest.raises(NotFoundError):
            await lg.threads.get_state(thread_id, checkpoint_id="not-a-checkpoint")


async def test_creating_with_an_id_and_deleting(settings: Settings, fake_groq: FakeGroq) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = str(uuid.uuid4())
        made = await lg.threads.create(thread_id=thread_id)
        assert made["thread_id"] == thread_id
        assert made["values"] is None
        with pytest.raises(ConflictError):
            await lg.threads.create(thread_id=thread_id)
        again = await lg.threads.create(thread_id=thread_id, if_exists="do_nothing")
        assert again["thread_id"] == thread_id
        async with connect(address, "local") as chat:
            await chat.turn("hello", conversation_id=thread_id)
        await lg.threads.delete(thread_id)
        with pytest.raises(NotFoundError) as missing:
            await lg.threads.get(thread_id)
        assert missing.value.body == {
            "detail": f"Thread with ID {thread_id} not found",
            "code": "conversation_not_found",
        }
        listed = await rest(address, "/users/local/conversations")
        assert thread_id not in [c["conversation_id"] for c in listed["items"]]
        with pytest.raises(NotFoundError):
            await lg.threads.delete(thread_id)


async def test_status_is_busy_while_a_turn_runs_and_an_update_then_waits(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.2))
        async with connect(address, "local") as chat:
            await chat.send(message="take your time", conversation_id=thread_id)
            await chat.until("token")
            assert (await lg.threads.get(thread_id))["status"] == "busy"
            busy = await lg.threads.search(status="busy")
            assert [t["thread_id"] for t in busy] == [thread_id]
            with pytest.raises(ConflictError):
                await lg.threads.update_state(thread_id, {"messages": []})
            await chat.until("message", within=60)
        assert (await lg.threads.get(thread_id))["status"] == "idle"


async def test_a_paused_run_is_an_interrupted_thread(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, client(address) as lg:
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        async with connect(address, "local") as chat:
            await chat.send(message="what is 6 * 7?")
            frames = await chat.until("approval_required")
        thread_id = frames[0]["conversation_id"]
        thread: Any = await lg.threads.get(thread_id)
        assert thread["status"] == "interrupted"
        (interrupts,) = thread["interrupts"].values()
        assert interrupts[0]["id"]
        state: Any = await lg.threads.get_state(thread_id)
        assert state["next"] == ["tools"]
        (task,) = state["tasks"]
        assert task["name"] == "tools"
        assert task["interrupts"] == interrupts
        assert [t["thread_id"] for t in await lg.threads.search(status="interrupted")] == [
            thread_id
        ]


async def test_a_graph_of_ones_own_is_the_assistant_and_its_state_the_threads(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    custom = msgspec.structs.replace(settings, graph="examples.word_count_agent:build")
    fake_groq.tool_calls.append([("word_count", {"text": "one two three"})])
    async with serve_threadline(custom) as address, client(address) as lg:
        (agent,) = await lg.assistants.search()
        assert agent["graph_id"] == "graph"
        nodes = {node["id"] for node in (await lg.assistants.get_graph("graph"))["nodes"]}
        assert "__start__" in nodes
        assert len(nodes) > 2
        async with connect(address, "local") as chat:
            await chat.send(message="How many words in 'one two three'?")
            frames = await chat.until("message")
        state: Any = await lg.threads.get_state(frames[0]["conversation_id"])
        kinds = [m["type"] for m in state["values"]["messages"]]
        assert kinds == ["human", "ai", "tool", "ai"]
        assert state["values"]["messages"][1]["tool_calls"][0]["name"] == "word_count"


async def test_deleting_a_thread_mid_reply_stops_the_reply_first(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.05))
        async with connect(address, "local") as chat:
            await chat.send(message=" ".join(["word"] * 60), conversation_id=thread_id)
            await chat.until("token")
            await lg.threads.delete(thread_id)
            outcome = (await chat.until("message"))[-1]
        assert outcome["stopped"] is True
        with pytest.raises(NotFoundError):
            await lg.threads.get_state(thread_id)
