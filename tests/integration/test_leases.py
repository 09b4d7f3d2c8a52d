"""Turn leases on a real PostgreSQL: taken only while a condition holds, and given back in
the same statement as the turn's last write."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from threadline.engine.graph import build_graph
from threadline.llm.offline import OfflineChatModel
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage.checkpoints.pending import PendingInputs
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool
from threadline.storage.leases import Condition, ConversationLocks, LeaseHeld, NotAllowed

pytestmark = pytest.mark.anyio

_TRUE = Condition("%(flag)s", {"flag": True})
_FALSE = Condition("%(flag)s", {"flag": False})


async def test_a_lease_is_taken_only_while_its_condition_holds(settings: Settings) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        locks = ConversationLocks(pool, process_id="p1")
        with pytest.raises(NotAllowed):
            async with locks.hold("c1", only_if=_FALSE):
                pytest.fail("the block must not run")
        assert await locks.holder_of("c1") is None  # nothing was taken
        async with locks.hold("c1", only_if=_TRUE):
            assert await locks.holder_of("c1") == "p1"
            with pytest.raises(LeaseHeld):
                async with locks.hold("c1", wait=False, only_if=_TRUE):
                    pytest.fail("held by the other turn")
        assert await locks.holder_of("c1") is None


async def test_a_lease_given_back_with_a_statement_returns_its_row(settings: Settings) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        locks = ConversationLocks(pool, process_id="p1")
        async with locks.hold("c2") as lease:
            row = await lease.give_back_with(Condition("SELECT %(n)s::int AS n", {"n": 7}))
            assert row == {"n": 7}
            assert await locks.holder_of("c2") is None  # given back already
            async with locks.hold("c2", wait=False):  # so another turn may take it at once
                pass
        assert await locks.holder_of("c2") is None


async def test_a_message_stored_with_the_lease_is_stored_only_by_the_turn_that_takes_it(
    settings: Settings,
) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": "c3", "reply_id": "r"}}
    message = HumanMessage("while busy", id="m")
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        graph = build_graph(OfflineChatModel(), saver, "", RetryPolicy(0, 1))
        await graph.ainvoke({"messages": [HumanMessage("first", id="f")]}, config)
        pending = PendingInputs(saver)
        locks = ConversationLocks(pool, process_id="p1")
        async with locks.hold("c3"):
            ahead = pending.alongside_lease("c3", [message])
            with pytest.raises(LeaseHeld):
                async with locks.hold("c3", wait=False, also=[ahead.also]):
                    pytest.fail("held by the other turn")
            waiting_while_held = await pending.waiting("c3")
        async with locks.hold("c3", also=[ahead.also]) as lease:
            stored = ahead.stored(lease.found)
        waiting_after = await pending.waiting("c3")

    assert waiting_while_held == []
    assert stored
    assert [m.content for m in waiting_after] == ["while busy"]
