"""Tools over what the user keeps: their memories and their documents.

`remember` saves a memory; `search_documents` finds passages of their knowledge base.
The user is the run's (`configurable.user_id`, set by the turn), never an argument the
model could choose. Both answer through callables the app wires in, so the engine knows
nothing of where memories and documents are stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from langchain_core.messages import AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool

__all__ = (
    "ATTACHED_DOCUMENTS",
    "DOCUMENTS",
    "REMEMBER",
    "Brief",
    "Remember",
    "Retrieve",
    "documents_tool",
    "remember_tool",
    "turn_citations",
)

REMEMBER = "remember"
DOCUMENTS = "search_documents"
# The `configurable` key listing the documents attached to the conversation: searched first.
ATTACHED_DOCUMENTS = "threadline_documents"

# (user_id, text) -> what the model is told once it is saved.
Remember = Callable[[str, str], Awaitable[str]]
# (user_id, query, the conversation's documents) -> the passages as text, and the
# citations behind them.
Retrieve = Callable[[str, str, Sequence[str]], Awaitable[tuple[str, list[dict[str, Any]]]]]
# (user_id, the user's message) -> notes for the model at the start of a turn.
Brief = Callable[[str, str], Awaitable[list[str]]]


def _user_of(config: RunnableConfig) -> str:
    user_id: str | None = config.get("configurable", {}).get("user_id")
    if not user_id:
        msg = "this tool needs a signed-in user"
        raise ValueError(msg)
    return user_id


def remember_tool(remember: Remember) -> BaseTool:
    """The `remember` tool: save a fact about the user for later conversations."""

    async def save(text: str, config: Annotated[RunnableConfig, InjectedToolArg]) -> str:
        return await remember(_user_of(config), text)

    return StructuredTool.from_function(
        coroutine=save,
        name=REMEMBER,
        description=(
            "Save a short fact about the user (a preference, a detail of their life or "
            "work) so you can recall it in later conversations. Use it when the user asks "
            "you to remember something, or shares a lasting fact about themselves."
        ),
    )


def documents_tool(retrieve: Retrieve) -> BaseTool:
    """The `search_documents` tool: passages of the user's documents, with citations."""

    async def search(
        query: str, config: Annotated[RunnableConfig, InjectedToolArg]
    ) -> tuple[str, dict[str, Any]]:
        attached = config.get("configurable", {}).get(ATTACHED_DOCUMENTS) or ()
        text, citations = await retrieve(_user_of(config), query, attached)
        return text, {"citations": citations}

    return StructuredTool.from_function(
        coroutine=search,
        name=DOCUMENTS,
        description=(
            "Search the user's documents (their knowledge base, and shared ones) for "
            "passages that answer a question; returns numbered sources to cite."
        ),
        response_format="content_and_artifact",
    )


def turn_citations(window: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    """The citations of the document searches since the user's message, first found first."""
    found: list[dict[str, Any]] = []
    for message in reversed(window):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage) and isinstance(message.artifact, dict):
            found[:0] = list(message.artifact.get("citations") or [])
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for citation in found:
        unique.setdefault((citation["document_id"], citation["text"]), citation)
    return list(unique.values())
