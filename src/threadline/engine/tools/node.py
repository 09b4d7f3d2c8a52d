"""The graph node that runs the tools an assistant message asks for.

Every call gets an answer: a failing, unknown or slow tool becomes a `ToolMessage` with
status `error` that the model reads and works around, never a failed turn. A graph of
one's own gets the same from LangGraph's `ToolNode` (`answer_tool_errors`). A tool that
needs the user's approval pauses the run with LangGraph's `interrupt` first; the run is
resumed with the user's decision (`Command(resume=...)`), and a denied call is answered
as such.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import _default_handle_tool_errors
from langgraph.pregel import Pregel
from langgraph.types import interrupt

from threadline.clock import now
from threadline.engine.messages import CREATED_AT
from threadline.observability.tracing import CONVERSATION_ID, fail, span

__all__ = ("DENIED", "answer_tool_errors", "tools_node", "unanswered_calls")

DENIED = "the user denied this call"
STOPPED_BEFORE_ANSWER = "stopped by the user before it finished"

# LangGraph's default `handle_tool_errors` (a private name, pinned by langgraph <1.3):
# invalid arguments become an error result, any other failure is raised.
_RERAISE = _default_handle_tool_errors

logger = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 500


def tools_node(
    tools: Sequence[BaseTool], timeout: float, needs_approval: frozenset[str] = frozenset()
) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    """A node running the last assistant message's tool calls side by side.

    Args:
        tools: The tools the model was offered.
        timeout: Seconds each call may take before it is answered with an error.
        needs_approval: Names of the tools that run only once the user approves the call.
    """
    by_name = {tool.name: tool for tool in tools}

    async def run_tools(state: Any) -> dict[str, Any]:
        last = state["messages"][-1]
        calls = last.tool_calls if isinstance(last, AIMessage) else []
        # Every decision is asked before any tool runs: a resumed node starts over, and a
        # tool must not run twice.
        approved = {c["id"]: _approved(c) for c in calls if c["name"] in needs_approval}
        results = await asyncio.gather(
            *(
                _run(by_name, call, timeout)
                if approved.get(call["id"], True)
                else _answered(_result(call, DENIED, error=True))
                for call in calls
            )
        )
        return {"messages": list(results)}

    return run_tools


def _approved(call: ToolCall) -> bool:
    """Pause for the user's decision on `call` (the first time); their answer on resume.

    Asked as LangChain's `HumanInTheLoopMiddleware` asks (`action_requests` and
    `review_configs`), so that clients made for it (agent-chat-ui's inbox) can answer.
    """
    request = {
        "action_requests": [{"name": call["name"], "args": call["args"]}],
        "review_configs": [
            {"action_name": call["name"], "allowed_decisions": ["approve", "reject"]}
        ],
    }
    return _approves(interrupt(request))


def _approves(answer: Any) -> bool:
    """Whether a resume value approves: `{"decisions": [{"type": "approve"}]}`.

    `{"approved": bool}` is read too: the answer to a call paused before approvals were
    asked as the middleware asks them.
    """
    if not isinstance(answer, dict):
        return False
    if "approved" in answer:
        return answer["approved"] is True
    decisions = answer.get("decisions")
    if not isinstance(decisions, list) or len(decisions) != 1:
        return False
    decision = decisions[0]
    return isinstance(decision, dict) and decision.get("type") == "approve"


async def _answered(result: ToolMessage) -> ToolMessage:
    return result


async def _run(by_name: dict[str, BaseTool], call: ToolCall, seconds: float) -> ToolMessage:
    """Run one call under a span of its own (names and ids only: never its arguments)."""
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call["name"],
        "gen_ai.tool.call.id": call["id"] or "",
        CONVERSATION_ID: _conversation_id(),
    }
    with span(f"execute_tool {call['name']}", attributes) as current:
        result = await _call(by_name, call, seconds)
        if result.status == "error":
            # The model gets the failure as the result; the span only names its kind.
            fail(current, "ToolError")
        return result


def _conversation_id() -> str:
    try:
        return str(get_config()["configurable"].get("thread_id", ""))
    except RuntimeError:  # outside a run (a tool called directly)
        return ""


async def _call(by_name: dict[str, BaseTool], call: ToolCall, seconds: float) -> ToolMessage:
    name = call["name"]
    tool = by_name.get(name)
    try:
        if tool is None:
            msg = f"there is no tool named {name!r}"
            raise LookupError(msg)
        if tool.response_format == "content_and_artifact":
            # Invoked with the whole call, the tool answers with a message carrying both,
            # and its status: an MCP tool's error result (`isError`) is an error here too.
            answer = await _within(seconds, tool.ainvoke({**call, "type": "tool_call"}))
            failed = answer.status == "error"
            return _result(call, _text_of(answer.content), error=failed, artifact=answer.artifact)
        output = await _within(seconds, tool.ainvoke(call["args"]))
        return _result(call, _text_of(output), error=False)
    except TimeoutError:
        return _result(call, f"the tool did not answer within {seconds:g} s", error=True)
    except Exception as error:  # noqa: BLE001 - a failing tool is an answer, not a crash
        # Arguments and output stay out of the log: they may quote the user.
        logger.warning("tool.failed", extra={"tool": name, "error": type(error).__name__})
        return _result(call, _error_text(error), error=True)


async def _within(seconds: float, call: Coroutine[Any, Any, Any]) -> Any:
    """The call's result, or TimeoutError once `seconds` pass.

    The call runs as a task of its own, so a tool whose own task group turns the
    cancellation into something else (MCP clients do) still ends as a timeout here.
    """
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    finally:  # a timeout, or the turn itself stopped: the call goes too
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if not done:
        raise TimeoutError
    return task.result()


def _text_of(output: object) -> str:
    """A tool's output as text: MCP tools answer with a list of content blocks."""
    if isinstance(output, list):
        return "\n".join(
            str(block.get("text", "")) if isinstance(block, dict) else str(block)
            for block in output
        )
    return str(output)


def _result(call: ToolCall, content: str, *, error: bool, artifact: Any = None) -> ToolMessage:
    return ToolMessage(
        content=content,
        artifact=artifact,
        tool_call_id=call["id"] or "",
        name=call["name"],
        status="error" if error else "success",
        id=uuid.uuid4().hex,
        additional_kwargs={CREATED_AT: now()},
    )


def unanswered_calls(
    messages: Sequence[BaseMessage], reason: str = STOPPED_BEFORE_ANSWER
) -> list[ToolMessage]:
    """Error results, saying `reason`, for the calls in `messages` that have none.

    A model is never sent a call without its result: a turn stopped or failed before a
    tool answered leaves these in its place.
    """
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    return [
        _result(call, reason, error=True)
        for message in messages
        if isinstance(message, AIMessage)
        for call in message.tool_calls
        if call["id"] not in answered
    ]


def answer_tool_errors(graph: Pregel[Any, Any]) -> None:
    """Make the graph's LangGraph `ToolNode`s answer a raising tool with an error result.

    LangGraph's default handles only invalid arguments and re-raises anything else, which
    ends the turn; here the model reads the error as the call's result and goes on, as
    with Threadline's own tools. A ToolNode whose author chose its `handle_tool_errors`
    (even `False`) keeps that choice. Subgraphs' ToolNodes (a supervisor's team, a swarm)
    are included.
    """
    subgraphs = [graph, *(found for _, found in graph.get_subgraphs(recurse=True))]
    for subgraph in subgraphs:
        for node in subgraph.nodes.values() if isinstance(subgraph, Pregel) else ():
            tools = node.bound
            if isinstance(tools, ToolNode) and tools._handle_tool_errors is _RERAISE:
                tools._handle_tool_errors = _tool_failed


def _tool_failed(error: Exception) -> str:
    """A ToolNode's error result for `error` (the same text as Threadline's tools node)."""
    logger.warning("tool.failed", extra={"error": type(error).__name__})
    return _error_text(error)


def _error_text(error: Exception) -> str:
    return str(error)[:_MAX_ERROR_CHARS] or type(error).__name__
