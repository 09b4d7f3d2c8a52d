"""Several servers starting at once on a new database: each migrates, one at a time."""

from __future__ import annotations

import anyio
import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.rows import dict_row

from tests.fixtures import fresh_database
from threadline.storage.schema import migrate

pytestmark = pytest.mark.anyio


async def _migrate(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row
    ) as conn:
        await migrate(url, AsyncPostgresSaver(conn), AsyncPostgresStore(conn))


async def test_servers_starting_together_on_a_new_database_all_finish_migrating(
    postgres_url: str,
) -> None:
    # LangGraph's migrations build indexes CONCURRENTLY, which waits for every transaction
    # older than it: a server blocked in a statement waiting for the migration lock was one,
    # and waited in turn for the migration, forever (WORKERS=2 on a new database, or two
    # replicas started together).
    with fresh_database(postgres_url, template=None) as url:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(_migrate, url)
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cursor = await conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
            row = await cursor.fetchone()

    assert row == (0,)  # no index left half-built
