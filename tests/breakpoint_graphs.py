"""Graphs compiled with breakpoints (`interrupt_before` / `interrupt_after`), exported
compiled at import as a `langgraph.json` names them (tests/e2e/test_breakpoints.py).

Each thinks, then acts: `think` writes "thought <n>", `act` writes "acted <n>", `n` being
the number of the user's messages so far.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph


def _turn(state: MessagesState) -> int:
    return sum(isinstance(m, HumanMessage) for m in state["messages"])


async def think(state: MessagesState) -> dict[str, list[AIMessage]]:
    """Write down a thought."""
    return {"messages": [AIMessage(f"thought {_turn(state)}")]}


async def act(state: MessagesState) -> dict[str, list[AIMessage]]:
    """Act on it: the reply."""
    return {"messages": [AIMessage(f"acted {_turn(state)}")]}


builder = StateGraph(MessagesState)
builder.add_node(think)
builder.add_node(act)
builder.add_edge(START, "think")
builder.add_edge("think", "act")

before_act = builder.compile(interrupt_before=["act"])
after_think = builder.compile(interrupt_after=["think"])
before_think = builder.compile(interrupt_before=["think"])
