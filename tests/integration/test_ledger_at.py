"""A thread's messages at one of its checkpoints: the path to it, nothing later, no branch."""

from __future__ import annotations

import pytest
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import NULL_TASK_ID
from langgraph.graph import START, StateGraph

from threadline.engine.graph import SNAPSHOT_EVERY, ChatState
from threadline.settings import Settings
from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio


def _graph() -> StateGraph[ChatState, None, ChatState, ChatState]:
    def respond(state: ChatState) -> dict[str, list[AnyMessage]]:
        return {"messages": []}

    builder = StateGraph(ChatState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    return builder


async def test_the_transcript_at_a_checkpoint_holds_its_path_only(settings: Settings) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": "at"}}
    said = [HumanMessage(f"m{n}", id=f"m{n}") for n in range(SNAPSHOT_EVERY + 10)]
    half = SNAPSHOT_EVERY // 2
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        graph = _graph().compile(checkpointer=saver)
        checkpoints = []
        for message in said:  # past a snapshot of the window
            await graph.ainvoke({"messages": [message]}, config)
            checkpoints.append((await graph.aget_state(config)).config)
        latest = checkpoints[-1]
        # A fork from halfway (as an edit makes one), and a write waiting on the latest.
        forked = await graph.aupdate_state(
            checkpoints[half], {"messages": [HumanMessage("fork", id="fork")]}, as_node="respond"
        )
        main = await saver.aget_tuple(latest)
        assert main is not None
        await saver.aput_writes(
            main.config, [(MESSAGES_CHANNEL, [HumanMessage("later", id="later")])], NULL_TASK_ID
        )
        ledger = Ledger(saver)

        def at(config: RunnableConfig) -> str:
            return str(config["configurable"]["checkpoint_id"])

        halfway = await ledger.transcript_at("at", at(checkpoints[half]))
        branch = await ledger.transcript_at("at", at(forked))
        whole = await ledger.transcript_at("at", at(latest))
        nowhere = await ledger.transcript_at("at", "no-such-checkpoint")

    assert [m.id for m in halfway] == [m.id for m in said[: half + 1]]
    assert [m.id for m in branch] == [*(m.id for m in said[: half + 1]), "fork"]
    assert [m.id for m in whole] == [m.id for m in said]  # not the fork, not what waits
    assert nowhere == []
