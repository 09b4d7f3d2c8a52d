"""Database schema: LangGraph's tables plus the little Threadline adds, migrated at start-up."""

from __future__ import annotations

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg import AsyncConnection

__all__ = ("migrate",)

# Arbitrary constant: serializes migrations when several processes start at once.
_MIGRATION_LOCK_KEY = 0x7468726561646C6E

_THREADLINE = (
    # Listing conversations newest first, a page at a time (see conversations.py).
    """
    CREATE INDEX IF NOT EXISTS threadline_store_recent
        ON store (prefix, updated_at DESC, key DESC)
    """,
    # Who is running a turn of which conversation (see locks.py).
    """
    CREATE TABLE IF NOT EXISTS threadline_turn_leases (
        conversation_id text PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
    )
    """,
)


async def migrate(url: str, saver: AsyncPostgresSaver, store: AsyncPostgresStore) -> None:
    """Create or upgrade every table, one process at a time.

    Args:
        url: The database, for a connection of its own that holds the migration lock.
        saver: The checkpointer, whose `setup()` runs LangGraph's migrations.
        store: The store, likewise.
    """
    async with await AsyncConnection.connect(url, autocommit=True) as lock:
        await lock.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        await saver.setup()
        await store.setup()
        for statement in _THREADLINE:
            await lock.execute(statement)
