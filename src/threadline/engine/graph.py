"""The LangGraph graph: the model answers within a budget, calling tools until it is done.

One node answers the conversation so far; when its answer asks for tools, a second node
runs them and the first answers again, until an answer asks for none.

The thread's `messages` channel holds the model's window, not the whole transcript: once
older turns are folded into the summary they are removed from it, so each checkpoint stays
bounded however long the conversation gets. It is a `DeltaChannel`, so a checkpoint stores
the messages written since its parent, never the list again; the full transcript is read
back from those writes (see `ledger`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from threadline.clock import now
from threadline.engine.agents import AgentSpec, route
from threadline.engine.context import (
    ContextReport,
    estimate_tokens,
    tokens_spent,
    visible,
)
from threadline.engine.messages import AGENT, CITATIONS, CONTEXT, CREATED_AT, TOKENS
from threadline.engine.state import SNAPSHOT_EVERY, ChatState, Digest
from threadline.engine.tools.knowledge import ATTACHED_DOCUMENTS, Brief, turn_citations
from threadline.engine.tools.node import tools_node
from threadline.engine.window import bounded_window
from threadline.llm.prompts import ATTACHED_NOTE, IMAGE_NOT_SHOWN
from threadline.llm.retry import RetryPolicy, stream_reply

__all__ = (
    "CLIENT_TOOLS",
    "MODEL_KEY",
    "RESPOND_NODE",
    "SNAPSHOT_EVERY",
    "TOOLS_NODE",
    "ChatGraph",
    "ChatState",
    "Digest",
    "build_graph",
)

RESPOND_NODE = "respond"
TOOLS_NODE = "tools"
# The `configurable` key naming the model a run answers with (one of `build_graph`'s
# `models`); unset or unknown: the graph's default model.
MODEL_KEY = "threadline_model"
# A run's `configurable` key for the tools its client offers the model for that run
# (OpenAI's function format). A call to one ends the run unanswered: the client runs it,
# and its result comes with the next turn.
CLIENT_TOOLS = "client_tools"

logger = logging.getLogger(__name__)


class _Specialist(NamedTuple):
    spec: AgentSpec
    system: list[SystemMessage]
    answering: Runnable[Any, Any]
    model: BaseChatModel
    tools: Sequence[BaseTool]

    def offered(self, config: RunnableConfig) -> Runnable[Any, Any]:
        """The model as this run answers with it: the client's tools offered too, if any."""
        own = {tool.name for tool in self.tools}
        extra = [t for t in _client_tools(config) if t["function"]["name"] not in own]
        return _with_tools(self.model, [*self.tools, *extra]) if extra else self.answering


ChatGraph = CompiledStateGraph[ChatState, Any, ChatState, ChatState]


def build_graph(  # noqa: PLR0913 - the graph's parts, each named
    model: BaseChatModel,
    checkpointer: BaseCheckpointSaver[Any],
    system_prompt: str,
    retry: RetryPolicy,
    context_tokens: int = 32_000,
    *,
    tools: Sequence[BaseTool] = (),
    tool_timeout: float = 30.0,
    needs_approval: frozenset[str] = frozenset(),
    agents: Sequence[tuple[AgentSpec, BaseChatModel]] = (),
    brief: Brief | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    vision: Collection[str] = frozenset(),
) -> ChatGraph:
    """Compile the chat graph once; each conversation is a thread of it.

    Args:
        model: The chat model that writes replies.
        checkpointer: Persists each thread's state (the conversation's memory).
        system_prompt: Prepended to every model call, never stored in the thread.
        retry: Bounds for retrying a failed model request.
        context_tokens: The most history the model is sent, in estimated tokens.
        tools: Tools the model may call; none makes a graph of one node.
        tool_timeout: Seconds one tool call may take.
        needs_approval: Tools that run only once the user approves the call.
        agents: Specialists and their models; several make a router choose one per turn.
            None: one assistant with `system_prompt` and every tool.
        brief: Notes for the model at the start of each answer (recalled memories, the
            user's documents), read for the user's newest message; never stored.
        models: The models a run may answer with instead, by id (`configurable` under
            `MODEL_KEY`); a specialist with a model of its own keeps it.
        vision: The model ids that are sent images; another chosen model gets a note in
            place of each image of the conversation.

    Returns:
        The compiled graph. A run expects `configurable.reply_id`, the id the reply gets.
    """
    declared = list(agents) or [(AgentSpec("assistant", "general help"), model)]
    team = {
        spec.name: _specialist(spec, chosen_model, tools, system_prompt)
        for spec, chosen_model in declared
    }
    # Each model's team built once, here: a turn picks one, nothing is built per turn.
    teams = {
        name: {
            spec.name: _specialist(spec, own if spec.model else alternative, tools, system_prompt)
            for spec, own in declared
        }
        for name, alternative in (models or {}).items()
    }
    offered = [tool.name for tool in tools]
    routing = len(team) > 1

    async def respond(state: ChatState, config: RunnableConfig) -> dict[str, Any]:
        window = state.get("messages", [])
        name, spent = state.get("agent") or declared[0][0].name, 0
        if routing and _starts_turn(window):
            name, spent = await route(model, [s for s, _ in declared], offered, window)
        model_id = config.get("configurable", {}).get(MODEL_KEY)
        chosen = teams.get(str(model_id), team)
        specialist = chosen.get(name) or chosen[declared[0][0].name]
        notes = await _briefing(brief, window, config)
        system = [*specialist.system, *notes]
        reserved = estimate_tokens(system)
        bounded = await bounded_window(state, model, context_tokens, reserved)
        spent += bounded.tokens
        seen = model_id is None or model_id in vision
        prompt = [*system, *(bounded.messages if seen else _without_images(bounded.messages))]
        # Tokens go out on LangGraph's custom stream: cheaper per token than its message
        # stream, which a callback feeds from every chunk of every model call.
        writer = get_stream_writer()
        reply = await stream_reply(specialist.offered(config), prompt, config, retry, writer)
        # The reply's id is chosen before the turn so streamed tokens can name it; a message
        # that calls tools is a step on the way to it and gets one of its own.
        reply.id = uuid.uuid4().hex if reply.tool_calls else _reply_id(config)
        reply.response_metadata[CREATED_AT] = now()
        if not reply.tool_calls and (citations := turn_citations(window)):
            reply.response_metadata[CITATIONS] = citations
        if routing:
            reply.response_metadata[AGENT] = name
        report = ContextReport(
            tokens_used=estimate_tokens([*prompt, reply]),
            token_budget=context_tokens,
            messages_total=bounded.digest["messages"] + len(visible(bounded.kept)) + 1,
            # Counted as the total is: the user's messages and the assistant's, a tool's
            # result going with the call that asked for it.
            messages_in_context=len(visible(bounded.shown)) + 1,
            summarized=bool(bounded.digest["summary"]),
        )
        reply.response_metadata[CONTEXT] = msgspec.structs.asdict(report)
        reply.response_metadata[TOKENS] = spent + tokens_spent(prompt, reply)
        update = bounded.with_reply(reply)
        return {**update, "agent": name} if routing else update

    builder = StateGraph(ChatState)
    builder.add_node(RESPOND_NODE, respond)
    builder.add_edge(START, RESPOND_NODE)
    if tools:
        run = tools_node(tools, tool_timeout, needs_approval)

        async def run_tools(state: ChatState) -> dict[str, Any]:
            return await run(state)

        builder.add_node(TOOLS_NODE, run_tools)
        builder.add_conditional_edges(RESPOND_NODE, _next_step, [TOOLS_NODE, END])
        builder.add_edge(TOOLS_NODE, RESPOND_NODE)
    return builder.compile(checkpointer=checkpointer)


def _specialist(
    spec: AgentSpec, model: BaseChatModel, tools: Sequence[BaseTool], system_prompt: str
) -> _Specialist:
    own = spec.system_prompt if spec.system_prompt is not None else system_prompt
    allowed = [t for t in tools if spec.tools is None or t.name in spec.tools]
    system = [SystemMessage(content=own)] if own else []
    return _Specialist(spec, system, _with_tools(model, allowed), model, allowed)


async def _briefing(
    brief: Brief | None, window: Sequence[AnyMessage], config: RunnableConfig
) -> list[SystemMessage]:
    """The turn's notes, as system messages after the system prompt."""
    configurable = config.get("configurable", {})
    user_id = configurable.get("user_id")
    asked = next((m for m in reversed(window) if isinstance(m, HumanMessage)), None)
    attached = (
        [SystemMessage(content=ATTACHED_NOTE)] if configurable.get(ATTACHED_DOCUMENTS) else []
    )
    if brief is None or not user_id or asked is None:
        return attached
    notes = [SystemMessage(content=note) for note in await brief(user_id, str(asked.text))]
    return [*notes, *attached]


def _without_images(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """The messages with each image block replaced by a note: for a model without vision."""
    return [
        m.model_copy(update={"content": [_textual(b) for b in m.content]})
        if isinstance(m, HumanMessage) and isinstance(m.content, list)
        else m
        for m in messages
    ]


def _textual(block: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(block, dict) and block.get("type") in {"image_url", "image"}:
        return {"type": "text", "text": IMAGE_NOT_SHOWN}
    return block


def _starts_turn(window: Sequence[AnyMessage]) -> bool:
    """Whether the newest message is the user's: a turn's first answer, not a tool step's."""
    return bool(window) and isinstance(window[-1], HumanMessage)


def _reply_id(config: RunnableConfig) -> str | None:
    reply_id: str | None = config.get("configurable", {}).get("reply_id")
    return reply_id


def _client_tools(config: RunnableConfig) -> list[dict[str, Any]]:
    offered: list[dict[str, Any]] = config.get("configurable", {}).get(CLIENT_TOOLS) or []
    return offered


def _next_step(state: ChatState, config: RunnableConfig) -> str:
    """Run the tools the newest message asks for, or end the turn with it.

    Calls to the client's tools only end the turn too: the client runs them. Beside calls
    to the server's, they go to the tools node, which answers them as unknown, so the
    thread never keeps a call nobody will answer.
    """
    last = state.get("messages", [])[-1:]
    if not (last and isinstance(last[0], AIMessage) and last[0].tool_calls):
        return END
    clients = {t["function"]["name"] for t in _client_tools(config)}
    return END if all(call["name"] in clients for call in last[0].tool_calls) else TOOLS_NODE


def _with_tools(
    model: BaseChatModel, tools: Sequence[BaseTool | dict[str, Any]]
) -> Runnable[Any, Any]:
    """The model with `tools` offered; the model alone if it cannot call tools."""
    if not tools:
        return model
    try:
        return model.bind_tools(list(tools))
    except NotImplementedError:
        logger.warning("tools.unsupported", extra={"model": type(model).__name__})
        return model
