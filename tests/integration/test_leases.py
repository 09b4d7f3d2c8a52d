"""A turn's statements on a real PostgreSQL (`storage/leases.py`): the lease, taken only
while the conversation is its user's, with the thread observed and the inputs stored in the
same statement, and given back in the same statement as the sidebar's record."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.conversations.index import ConversationIndex
from threadline.engine.graph import build_graph
from threadline.llm.offline import OfflineChatModel
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage import leases
from threadline.storage.checkpoints.pending import PendingInputs
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool
from threadline.storage.leases import ConversationLocks, LeaseHeld, NotAllowed

pytestmark = pytest.mark.anyio


async def test_a_lease_is_taken_only_while_the_conversation_is_the_users(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        index = ConversationIndex(AsyncPostgresStore(pool), pool)
        mine = await index.create("u1")
        locks = ConversationLocks(pool, process_id="p1")
        for user, conversation in (("u2", mine), ("u1", "never-created")):
            with pytest.raises(NotAllowed):
                async with locks.hold(conversation, user_id=user):
                    pytest.fail("the block must not run")
        assert await locks.holder_of(mine) is None  # nothing was taken
        async with locks.hold(mine, user_id="u1"):
            assert await locks.holder_of(mine) == "p1"
            with pytest.raises(LeaseHeld):
                async with locks.hold(mine, wait=False, user_id="u1"):
                    pytest.fail("held by the other turn")
        assert await locks.holder_of(mine) is None


async def test_a_lease_given_back_recording_the_turn_updates_the_sidebar_entry(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        index = ConversationIndex(AsyncPostgresStore(pool), pool)
        mine = await index.create("u1")
        await index.set_title("u1", mine, "Plans", "user")
        locks = ConversationLocks(pool, process_id="p1")
        async with locks.hold(mine, user_id="u1") as lease:
            recorded = await index.record_activity(lease, 2, "see  you\nsoon")
            assert await locks.holder_of(mine) is None  # given back already
            async with locks.hold(mine, wait=False):  # so another turn may take it at once
                pass
        entry = await index.get("u1", mine)

    assert recorded is not None
    assert recorded[0] == "Plans"
    assert entry is not None
    assert (entry.message_count, entry.preview, entry.updated_at) == (
        2,
        "see you soon",
        recorded[1],
    )


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
                async with locks.hold("c3", wait=False, inputs=ahead.inputs):
                    pytest.fail("held by the other turn")
            waiting_while_held = await pending.waiting("c3")
        async with locks.hold("c3", inputs=ahead.inputs) as lease:
            stored = ahead.stored(lease.stored)
        waiting_after = await pending.waiting("c3")

    assert waiting_while_held == []
    assert stored
    assert [m.content for m in waiting_after] == ["while busy"]


async def test_each_part_of_the_lease_statement_reads_its_own_parameters(
    settings: Settings,
) -> None:
    """The owner's check, the lease, the observation and the store each see their values."""
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        index = ConversationIndex(AsyncPostgresStore(pool), pool)
        mine = await index.create("u1")
        saver = PooledPostgresSaver(pool)
        graph = build_graph(OfflineChatModel(), saver, "", RetryPolicy(0, 1))
        config: RunnableConfig = {"configurable": {"thread_id": mine, "reply_id": "r"}}
        await graph.ainvoke({"messages": [HumanMessage("first", id="f")]}, config)
        latest = await saver.aget_tuple(config)
        ahead = PendingInputs(saver).alongside_lease(mine, [HumanMessage("next", id="n")])
        locks = ConversationLocks(pool, process_id="p1")
        async with locks.hold(mine, user_id="u1", inputs=ahead.inputs) as lease:
            holder = await locks.holder_of(mine)
        waiting = await PendingInputs(saver).waiting(mine)

    assert latest is not None
    latest_id = latest.config["configurable"]["checkpoint_id"]
    assert holder == "p1"
    assert lease.observed == f"{latest_id} {len(latest.pending_writes or [])}"
    assert lease.stored.on == latest_id
    assert [m.content for m in waiting] == ["next"]


def test_a_statement_is_bound_to_exactly_its_placeholders_each_named_once() -> None:
    statement = "SELECT %(id)s, %(holder)s"
    assert leases._bound(statement, id="c", holder="h") == {"id": "c", "holder": "h"}
    with pytest.raises(ValueError, match="do not match"):
        leases._bound(statement, id="c")  # a placeholder left unbound
    with pytest.raises(ValueError, match="do not match"):
        leases._bound(statement, id="c", holder="h", ttl=1)  # a value for nothing
    mine, theirs = {"id": "c"}, {"id": "other"}
    with pytest.raises(TypeError, match="multiple values"):
        leases._bound(statement, **mine, **theirs, holder="h")  # a clash: never overwritten
