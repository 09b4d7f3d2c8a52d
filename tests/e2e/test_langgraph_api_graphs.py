"""Several graphs served: a thread is read through the graph its conversation chose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.lgclient import client
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

# Two graphs of different state: the first (the default assistant) keeps messages only,
# the second keeps notes beside them.
_GRAPHS = """
import operator
from typing import Annotated

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph


async def answer(state: MessagesState) -> dict[str, list[AIMessage]]:
    return {"messages": [AIMessage(f"answered {state['messages'][-1].text}")]}


plain = StateGraph(MessagesState)
plain.add_node(answer)
plain.add_edge(START, "answer")


class Noted(MessagesState):
    notes: Annotated[list[str], operator.add]


async def note(state: Noted) -> dict[str, object]:
    said = state["messages"][-1].text
    return {"messages": [AIMessage(f"noted {said}")], "notes": [f"note of {said}"]}


noted = StateGraph(Noted)
noted.add_node(note)
noted.add_edge(START, "note")
"""


def _two_graphs(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "two.py").write_text(_GRAPHS, encoding="utf-8")
    config = tmp_path / "langgraph.json"
    graphs = {"plain": "./two.py:plain", "noted": "./two.py:noted"}
    config.write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    return msgspec.structs.replace(settings, langgraph_config=str(config))


async def test_a_thread_of_another_graph_is_read_through_its_own_graph(
    settings: Settings, tmp_path: Path
) -> None:
    async with serve_threadline(_two_graphs(settings, tmp_path)) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        human: dict[str, Any] = {"messages": [{"type": "human", "content": "hi"}]}
        await lg.runs.wait(thread_id, "noted", input=human)
        state = await lg.threads.get_state(thread_id)
        history = await lg.threads.get_history(thread_id, limit=1)
        (found,) = await lg.threads.search(metadata={}, limit=10)
        at_checkpoint = await lg.threads.get_state(
            thread_id, checkpoint_id=state["checkpoint"]["checkpoint_id"]
        )
    values = state["values"]
    assert isinstance(values, dict)
    assert [m["content"] for m in values["messages"]] == ["hi", "noted hi"]
    assert values["notes"] == ["note of hi"]
    assert history[0]["values"] == values
    assert found["values"] == values
    assert at_checkpoint["values"] == values


async def test_a_thread_of_another_graph_is_listed_under_its_own_graph(
    settings: Settings, tmp_path: Path
) -> None:
    # LangChain's chat UIs list an assistant's threads by `graph_id` (or `assistant_id`).
    async with serve_threadline(_two_graphs(settings, tmp_path)) as address, client(address) as lg:
        noted = (await lg.threads.create())["thread_id"]
        plain = (await lg.threads.create())["thread_id"]
        human: dict[str, Any] = {"messages": [{"type": "human", "content": "hi"}]}
        await lg.runs.wait(noted, "noted", input=human)
        await lg.runs.wait(plain, "plain", input=human)
        shown: Any = await lg.threads.get(noted)
        of_noted = await lg.threads.search(metadata={"graph_id": "noted"})
        of_plain = await lg.threads.search(metadata={"graph_id": "plain"})
        by_id = await lg.threads.search(
            metadata={"assistant_id": shown["metadata"]["assistant_id"]}
        )
    assert shown["metadata"]["graph_id"] == "noted"
    assert [t["thread_id"] for t in of_noted] == [noted]
    assert [t["thread_id"] for t in of_plain] == [plain]
    assert [t["thread_id"] for t in by_id] == [noted]


# A second graph that keeps its conversation under another key than `messages`.
_KEYED = """
from typing import Annotated, TypedDict

from langchain_core.messages import AIMessage, AnyMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages

from langgraph.graph import MessagesState


async def answer(state: MessagesState) -> dict[str, list[AIMessage]]:
    return {"messages": [AIMessage(f"answered {state['messages'][-1].text}")]}


plain = StateGraph(MessagesState)
plain.add_node(answer)
plain.add_edge(START, "answer")


class Turns(TypedDict):
    turns: Annotated[list[AnyMessage], add_messages]


async def reply(state: Turns) -> dict[str, list[AIMessage]]:
    return {"turns": [AIMessage(f"replied {state['turns'][-1].text}")]}


keyed = StateGraph(Turns)
keyed.add_node(reply)
keyed.add_edge(START, "reply")
"""


async def test_a_run_of_another_graph_is_read_through_its_own_graph(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "keyed.py").write_text(_KEYED, encoding="utf-8")
    config = tmp_path / "langgraph.json"
    graphs = {"plain": "./keyed.py:plain", "keyed": "./keyed.py:keyed"}
    config.write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    configured = msgspec.structs.replace(settings, langgraph_config=str(config))
    async with serve_threadline(configured) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        human: dict[str, Any] = {"messages": [{"type": "human", "content": "hi"}]}
        run = await lg.runs.create(thread_id, "keyed", input=human)
        await lg.runs.join(thread_id, run["run_id"])
        listed = await lg.runs.list(thread_id)
        found = await lg.runs.get(thread_id, run["run_id"])
        state = await lg.threads.get_state(thread_id)
    values = state["values"]
    assert isinstance(values, dict)
    assert [m["content"] for m in values["turns"]] == ["hi", "replied hi"]
    assert [(r["run_id"], r["status"]) for r in listed] == [(run["run_id"], "success")]
    assert found["status"] == "success"
