"""Graphs that pause with LangGraph's `interrupt`, as their authors write them, for
THREADLINE_GRAPH (tests/e2e/test_interrupts.py)."""

from __future__ import annotations

import json
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

QUESTION = "Approve transferring $5?"
FORM = {"question": "How much?", "options": [5, 10], "currency": "USD"}


def _asks(messages: list[Any]) -> bool:
    """Only a message starting with "transfer" makes these graphs ask anything."""
    return str(messages[-1].text).lower().startswith("transfer")


def _asking(value: Any, model: BaseChatModel) -> StateGraph[MessagesState]:
    async def ask(state: MessagesState) -> dict[str, Any]:
        if not _asks(state["messages"]):
            return {"messages": [await model.ainvoke(state["messages"])]}
        answer = interrupt(value)
        said = HumanMessage(f"The user answered: {json.dumps(answer)}")
        return {"messages": [await model.ainvoke([*state["messages"], said])]}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


def ask_string(model: BaseChatModel) -> StateGraph[MessagesState]:
    """Asks `QUESTION` (a string) before answering a message starting with "transfer"."""
    return _asking(QUESTION, model)


def ask_dict(model: BaseChatModel) -> StateGraph[MessagesState]:
    """Asks with `FORM` (a dict) before answering a message starting with "transfer"."""
    return _asking(FORM, model)


def ask_twice(model: BaseChatModel) -> StateGraph[MessagesState]:
    """Two branches ask at once ("Which account?", "Which amount?"); then the model answers."""

    def asking(question: str, name: str) -> Any:
        def node(state: MessagesState) -> dict[str, Any]:
            answer = interrupt(question)
            return {"messages": [AIMessage(f"{name}: {json.dumps(answer)}", id=f"{name}-answer")]}

        return node

    async def answer(state: MessagesState) -> dict[str, Any]:
        notes = [m.text for m in state["messages"] if isinstance(m, AIMessage)]
        said = HumanMessage("The user answered " + " and ".join(sorted(notes)))
        return {"messages": [await model.ainvoke([said])]}

    graph = StateGraph(MessagesState)
    graph.add_node("account", asking("Which account?", "account"))
    graph.add_node("amount", asking("Which amount?", "amount"))
    graph.add_node("answer", answer)
    graph.add_edge(START, "account")
    graph.add_edge(START, "amount")
    graph.add_edge(["account", "amount"], "answer")
    graph.add_edge("answer", END)
    return graph


@tool
def transfer(amount: int, to: str) -> str:
    """Transfer `amount` dollars to `to`."""
    return f"sent ${amount} to {to}"


def hitl_agent(model: BaseChatModel) -> Any:
    """LangChain's `create_agent` with `HumanInTheLoopMiddleware` on `transfer` (batched),
    compiled as it comes."""
    middleware = HumanInTheLoopMiddleware(interrupt_on={"transfer": True})
    return create_agent(model, tools=[transfer], middleware=[middleware])


def hitl_agent_per_call(model: BaseChatModel) -> Any:
    """The same, asking per call, where only approving or rejecting is allowed."""
    middleware = HumanInTheLoopMiddleware(
        interrupt_on={"transfer": {"allowed_decisions": ["approve", "reject"]}},
        interrupt_mode="per_call",
    )
    return create_agent(model, tools=[transfer], middleware=[middleware])
