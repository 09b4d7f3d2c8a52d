"""Graphs as other people write them, for THREADLINE_GRAPH: LangGraph's prebuilt agent,
langgraph-supervisor, langgraph-swarm, and states that are dataclasses or pydantic models
whose messages live under another name.

Each builder takes Threadline's model (THREADLINE_GRAPH's `model` argument) and returns the
graph as its documentation shows it: the prebuilt agents compiled as they come, the
supervisor and the swarm compiled with `.compile()`. tests/data/foreign_project exports the
same graphs compiled at import, for a `langgraph.json`.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph, add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph.warnings import LangGraphDeprecatedSinceV10
from langgraph_supervisor import create_supervisor
from langgraph_swarm import create_handoff_tool, create_swarm
from pydantic import BaseModel

BROKE = "the tool broke"
SUPERVISOR = "You are the supervisor. Hand arithmetic to math_expert."
MATH_EXPERT = "You are math_expert. Use add for sums."
ALICE = "You are alice. Hand anything with numbers to bob."
BOB = "You are bob. Use add for sums."


@tool
def explode(reason: str) -> str:
    """A tool that always fails."""
    msg = f"{BROKE}: {reason}"
    raise RuntimeError(msg)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def nap(seconds: float) -> str:
    """Sleep `seconds`, then say so (a slow tool)."""
    await asyncio.sleep(seconds)
    return f"slept {seconds:g} s"


@contextmanager
def _as_documented() -> Iterator[None]:
    # `create_react_agent` warns that it moved to `langchain.agents`; the suite turns
    # warnings into errors, and these graphs are written as their authors wrote them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangGraphDeprecatedSinceV10)
        yield


def react_agent(model: BaseChatModel) -> CompiledStateGraph[Any, Any, Any, Any]:
    """`create_react_agent` with a tool that raises, its ToolNode as LangGraph makes it."""
    with _as_documented():
        return create_react_agent(model, [add, explode, nap])


def reviewed_react_agent(model: BaseChatModel) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The prebuilt agent stopping before its tools run, for a human to look first."""
    with _as_documented():
        return create_react_agent(model, [add], interrupt_before=["tools"])


def strict_react_agent(model: BaseChatModel) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The same, with a ToolNode its author told to raise (`handle_tool_errors=False`)."""
    with _as_documented():
        tools = ToolNode([add, explode], handle_tool_errors=False)
        return create_react_agent(model, tools)


def supervisor(model: BaseChatModel) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A langgraph-supervisor team: the supervisor hands sums to `math_expert`."""
    with _as_documented():
        expert = create_react_agent(model, [add], name="math_expert", prompt=MATH_EXPERT)
        return create_supervisor([expert], model=model, prompt=SUPERVISOR).compile()


def swarm(model: BaseChatModel) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A langgraph-swarm pair: alice hands numbers to bob, who keeps the conversation."""
    with _as_documented():
        alice = create_react_agent(
            model, [create_handoff_tool(agent_name="bob")], name="alice", prompt=ALICE
        )
        bob = create_react_agent(
            model, [add, create_handoff_tool(agent_name="alice")], name="bob", prompt=BOB
        )
        return create_swarm([alice, bob], default_active_agent="alice").compile()


@dataclass
class Notebook:
    """A dataclass state: the messages are `conversation`, beside a key of its own."""

    conversation: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    answers: int = 0


class Diary(BaseModel):
    """A pydantic state: the messages are `history`, beside a key of its own."""

    history: Annotated[list[AnyMessage], add_messages] = []
    answers: int = 0


def dataclass_agent(model: BaseChatModel) -> StateGraph[Notebook]:
    """A tool-calling agent on a dataclass state."""
    answering = model.bind_tools([add])

    async def agent(state: Notebook) -> dict[str, Any]:
        reply = await answering.ainvoke(state.conversation)
        return {"conversation": [reply], "answers": state.answers + 1}

    return _agent_graph(Notebook, "conversation", agent)


def pydantic_agent(model: BaseChatModel) -> StateGraph[Diary]:
    """A tool-calling agent on a pydantic state whose node returns the whole message list."""
    answering = model.bind_tools([add])

    async def agent(state: Diary) -> dict[str, Any]:
        reply = await answering.ainvoke(state.history)
        return {"history": [*state.history, reply], "answers": state.answers + 1}

    return _agent_graph(Diary, "history", agent)


def _agent_graph(state: type[Any], key: str, agent: Any) -> StateGraph[Any]:
    def route(current: Any) -> str:
        last = getattr(current, key)[-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(state)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([add], messages_key=key))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph
