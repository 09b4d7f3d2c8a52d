"""The saver Threadline runs: what a reader loads is its own to change."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import NULL_TASK_ID

from threadline.engine.graph import build_graph
from threadline.llm.offline import OfflineChatModel
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
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


async def test_a_write_too_large_for_the_event_loop_is_stored_and_read_back_whole(
    settings: Settings,
) -> None:
    # A long tool result: encoded, and decoded, in a worker thread rather than on the loop.
    big = " ".join(uuid.uuid4().hex for _ in range(12_000))  # ~400 KB, barely compressible
    config: RunnableConfig = {"configurable": {"thread_id": "t", "reply_id": "r"}}
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        graph = build_graph(OfflineChatModel(), saver, "", RetryPolicy(0, 1))
        await graph.ainvoke({"messages": [HumanMessage("first", id="1")]}, config)
        latest = await saver.aget_tuple(config)
        assert latest is not None
        await saver.aput_writes(
            latest.config, [(MESSAGES_CHANNEL, [HumanMessage(big, id="2")])], NULL_TASK_ID
        )
        read = await saver.aget_tuple(config)
        state = (await graph.aget_state(config)).values["messages"]

    assert read is not None
    assert read.pending_writes is not None
    assert [m.content for _, _, value in read.pending_writes for m in value] == [big]
    assert state[-1].content == big


async def test_a_single_connection_is_refused_with_a_clear_error(settings: Settings) -> None:
    # Without its lock, concurrent queries would share the one connection.
    assert settings.database_url is not None
    async with await psycopg.AsyncConnection.connect(settings.database_url.get()) as conn:
        with pytest.raises(TypeError, match="needs a connection pool"):
            PooledPostgresSaver(conn)  # type: ignore[arg-type]
