"""The saver Threadline runs: what a reader loads is its own to change."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from threadline.engine.graph import build_graph
from threadline.llm.offline import OfflineChatModel
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio


async def test_changing_loaded_messages_in_place_changes_nothing_the_next_load_gets(
    settings: Settings,
) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": "t", "reply_id": "r"}}
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        graph = build_graph(OfflineChatModel(), PooledPostgresSaver(pool), "", RetryPolicy(0, 1))
        await graph.ainvoke({"messages": [HumanMessage("first", id="1")]}, config)
        loaded = (await graph.aget_state(config)).values["messages"]
        # A careless reader (a node, a tool): it edits what it was given in place.
        for message in loaded:
            message.content = "overwritten"
            message.additional_kwargs["meddled"] = True
        again = (await graph.aget_state(config)).values["messages"]

    assert again[0].content == "first"
    assert again[1].content.startswith("[offline model")
    assert all("meddled" not in m.additional_kwargs for m in again)
