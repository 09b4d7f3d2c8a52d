"""Two graphs in the style of LangChain's `react-agent` template (written here, not copied).

`graph` is compiled at import, as `langgraph.json` usually names it; `make_planner` is a
factory taking the assistant's `config`. Both read the model and the system prompt from
`runtime.context`, a `Context` dataclass, keep their messages in a dataclass `State`
(with its `InputState` and LangGraph's `IsLastStep` managed value, as the template has
them), and find Groq through the environment that `langgraph.json`'s `env` file sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from langchain_core.messages import AIMessage, AnyMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_groq import ChatGroq
from langgraph.config import get_config
from langgraph.graph import START, StateGraph, add_messages
from langgraph.managed import IsLastStep
from langgraph.runtime import Runtime


@dataclass(kw_only=True)
class Context:
    """What a run is configured with: the model and its instructions."""

    system_prompt: str = "You are a helpful AI assistant."
    model: str = "openai/gpt-oss-20b"


@dataclass
class InputState:
    """What a run takes: the conversation's messages."""

    messages: Annotated[Sequence[AnyMessage], add_messages] = field(default_factory=list)


@dataclass
class State(InputState):
    """The whole state: the messages, and whether this is the run's last step."""

    is_last_step: IsLastStep = field(default=False)


async def _answer(context: Context, prompt: str, messages: list[AnyMessage]) -> AIMessage:
    """The context's model's answer (its connections closed after)."""
    async with httpx.AsyncClient() as http:
        model = ChatGroq(model=context.model, max_retries=0, http_async_client=http)
        reply = await model.ainvoke([SystemMessage(prompt), *messages])
    assert isinstance(reply, AIMessage)
    return reply


async def call_model(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer with the context's model, told the context's system prompt."""
    context = runtime.context
    return {"messages": [await _answer(context, context.system_prompt, [*state.messages])]}


def _builder() -> StateGraph[State, Context, InputState]:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(call_model)
    builder.add_edge(START, "call_model")
    return builder


graph = _builder().compile(name="ReAct Agent")


def make_planner(config: RunnableConfig) -> StateGraph[State, Context, InputState]:
    """The planner: the same agent, its instructions prefixed with the configured style.

    The style it is built with is the default of each run's own `configurable`.
    """
    built_with = config.get("configurable", {}).get("style", "plain")

    async def plan(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        style = get_config().get("configurable", {}).get("style", built_with)
        prompt = f"Plan in {style} steps. {runtime.context.system_prompt}"
        return {"messages": [await _answer(runtime.context, prompt, [*state.messages])]}

    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("plan", plan)
    builder.add_edge(START, "plan")
    return builder
