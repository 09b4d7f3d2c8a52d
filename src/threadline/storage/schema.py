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
    # API keys, by the SHA-256 of the key: the key itself is shown once and never stored.
    """
    CREATE TABLE IF NOT EXISTS threadline_api_keys (
        key_id text PRIMARY KEY,
        key_hash text NOT NULL UNIQUE,
        name text NOT NULL,
        user_id text,
        admin boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    )
    """,
    # Single-use WebSocket tickets, also by hash; any server may redeem one.
    """
    CREATE TABLE IF NOT EXISTS threadline_ws_tickets (
        ticket_hash text PRIMARY KEY,
        user_id text,
        admin boolean NOT NULL,
        credential_expires_at timestamptz,
        expires_at timestamptz NOT NULL
    )
    """,
    # Per-user message rate (a token bucket), shared by every server.
    """
    CREATE TABLE IF NOT EXISTS threadline_rate_buckets (
        user_id text PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    # Model tokens and messages per user and UTC day.
    """
    CREATE TABLE IF NOT EXISTS threadline_usage (
        user_id text NOT NULL,
        day date NOT NULL,
        tokens bigint NOT NULL DEFAULT 0,
        messages bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, day)
    )
    """,
    # Open sockets per user, across servers; a server's rows expire if it dies.
    """
    CREATE TABLE IF NOT EXISTS threadline_socket_seats (
        seat_id text PRIMARY KEY,
        user_id text NOT NULL,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS threadline_socket_seats_user ON threadline_socket_seats (user_id)",
    # The server processes alive (each renews its row), and their open sockets per user
    # (see presence.py): what the status endpoint totals, and who needs a user's frames.
    """
    CREATE TABLE IF NOT EXISTS threadline_processes (
        process_id text PRIMARY KEY,
        seen_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS threadline_presence (
        process_id text NOT NULL REFERENCES threadline_processes ON DELETE CASCADE,
        user_id text NOT NULL,
        sockets integer NOT NULL,
        PRIMARY KEY (user_id, process_id)
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
