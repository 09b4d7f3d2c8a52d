"""A tool that searches the user's own past conversations.

The user is the run's (`configurable.user_id`, set by the turn), never an argument the
model could choose: a search can only ever read the conversations of whoever is asking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool

__all__ = ("Searcher", "search_tool")

# (user_id, query, conversation asking) -> a text listing the hits.
Searcher = Callable[[str, str, str | None], Awaitable[str]]


def search_tool(searcher: Searcher) -> BaseTool:
    """The `search_conversations` tool, answering through `searcher`."""

    async def search_conversations(
        query: str, config: Annotated[RunnableConfig, InjectedToolArg]
    ) -> str:
        configurable = config.get("configurable", {})
        user_id = configurable.get("user_id")
        if not user_id:
            msg = "searching needs a signed-in user"
            raise ValueError(msg)
        return await searcher(user_id, query, configurable.get("thread_id"))

    return StructuredTool.from_function(
        coroutine=search_conversations,
        name="search_conversations",
        description=(
            "Search the user's own earlier conversations (titles and messages) for a word "
            "or phrase; returns the matching conversations with a snippet of each."
        ),
    )
