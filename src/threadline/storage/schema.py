"""Database schema: LangGraph's tables plus the little Threadline adds, migrated at start-up."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg import AsyncConnection

__all__ = ("DimensionMismatch", "migrate")

# Arbitrary constant: serializes migrations when several processes start at once.
_MIGRATION_LOCK_KEY = 0x7468726561646C6E
_MIGRATION_POLL = 0.1

_THREADLINE = (
    # Listing conversations newest first, a page at a time (see conversations.py).
    """
    CREATE INDEX IF NOT EXISTS threadline_store_recent
        ON store (prefix, updated_at DESC, key DESC)
    """,
    # A conversation's id is its thread's, global to the checkpoint tables: one owner each,
    # even for ids a client chooses (the LangGraph API's `POST /threads {thread_id}`).
    """
    CREATE UNIQUE INDEX IF NOT EXISTS threadline_conversation_ids
        ON store (key) WHERE prefix LIKE 'users.%.conversations'
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
    # The API key a ticket was bought with, if it was: a revoked key's tickets open nothing.
    "ALTER TABLE threadline_ws_tickets ADD COLUMN IF NOT EXISTS key_id text",
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


# What memories, documents and search keep beside the store's own vectors (see
# knowledge/ and conversations/search.py); {dims} is the embedder's.
_VECTORS = (
    "CREATE EXTENSION IF NOT EXISTS vector",
    # Knowledge-base documents: a user's (owner) or shared with everyone (owner NULL). The
    # upload is kept until it is indexed, so indexing interrupted by a crash starts again.
    """
    CREATE TABLE IF NOT EXISTS threadline_documents (
        document_id text PRIMARY KEY,
        owner text,
        title text NOT NULL,
        media_type text NOT NULL,
        size_bytes integer NOT NULL,
        status text NOT NULL CHECK (status IN ('indexing', 'ready', 'failed')),
        reason text,
        chunks integer NOT NULL DEFAULT 0,
        content bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        claimed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS threadline_documents_owner
        ON threadline_documents (owner, created_at DESC)
    """,
    # A document's passages, written in one transaction with its `ready` status. Each is
    # indexed with its document's title (`context`): a passage rarely names its subject.
    """
    CREATE TABLE IF NOT EXISTS threadline_chunks (
        document_id text NOT NULL REFERENCES threadline_documents ON DELETE CASCADE,
        ordinal integer NOT NULL,
        owner text,
        context text NOT NULL,
        text text NOT NULL,
        words tsvector GENERATED ALWAYS AS
            (to_tsvector('english', context || E'\n' || text)) STORED,
        embedding vector({dims}) NOT NULL,
        PRIMARY KEY (document_id, ordinal)
    )
    """,
    "CREATE INDEX IF NOT EXISTS threadline_chunks_owner ON threadline_chunks (owner)",
    "CREATE INDEX IF NOT EXISTS threadline_chunks_words ON threadline_chunks USING gin (words)",
    # Search over conversations: derived from the checkpoints (rebuilt if lost), one row
    # per message; `threadline_search_state` says up to which activity a conversation is in.
    """
    CREATE TABLE IF NOT EXISTS threadline_message_index (
        owner text NOT NULL,
        conversation_id text NOT NULL,
        message_id text NOT NULL,
        role text NOT NULL,
        text text NOT NULL,
        words tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
        embedding vector({dims}) NOT NULL,
        PRIMARY KEY (conversation_id, message_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS threadline_message_index_owner ON threadline_message_index (owner)",
    """
    CREATE INDEX IF NOT EXISTS threadline_message_index_words
        ON threadline_message_index USING gin (words)
    """,
    """
    CREATE TABLE IF NOT EXISTS threadline_search_state (
        conversation_id text PRIMARY KEY,
        owner text NOT NULL,
        indexed_at timestamptz NOT NULL
    )
    """,
)

# Every vector column, and the dimensions it was created with.
_DIMENSIONS = """
SELECT c.relname || '.' || a.attname AS column_name, a.atttypmod AS dims
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relname IN ('store_vectors', 'threadline_chunks', 'threadline_message_index')
  AND a.attname = 'embedding' AND NOT a.attisdropped
"""


class DimensionMismatch(RuntimeError):
    """The database holds vectors of another embedding model's size."""


async def _take_migration_lock(conn: AsyncConnection[Any]) -> None:
    """Take the session lock by trying, not by waiting inside a statement.

    LangGraph's migrations build indexes CONCURRENTLY, which waits for every transaction
    older than itself to end, and a `pg_advisory_lock` call waiting for the lock is one:
    the migration and the process waiting for it would wait for each other for ever
    (PostgreSQL does not see that cycle). Between tries this connection is idle.
    """
    while True:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return
        await asyncio.sleep(_MIGRATION_POLL)


async def migrate(
    url: str,
    saver: AsyncPostgresSaver,
    store: AsyncPostgresStore,
    *,
    vectors: AsyncPostgresStore | None = None,
) -> None:
    """Create or upgrade every table, one process at a time.

    Args:
        url: The database, for a connection of its own that holds the migration lock.
        saver: The checkpointer, whose `setup()` runs LangGraph's migrations.
        store: The store, likewise.
        vectors: The store with a vector index (memories); with it, pgvector and the
            knowledge tables are set up with its dimensions.

    Raises:
        DimensionMismatch: The vector columns were made for another embedding model.
    """
    async with await AsyncConnection.connect(url, autocommit=True) as lock:
        await _take_migration_lock(lock)
        await saver.setup()
        await store.setup()
        for statement in _THREADLINE:
            await lock.execute(statement)
        if vectors is None or vectors.index_config is None:
            return
        dims = int(vectors.index_config["dims"])
        await vectors.setup()
        for statement in _VECTORS:
            await lock.execute(statement.replace("{dims}", str(dims)))  # an int: no injection
        cursor = await lock.execute(_DIMENSIONS)
        for column, found in await cursor.fetchall():
            if found != dims:
                msg = (
                    f"{column} holds vectors of {found} dimensions but the embedding model "
                    f"makes {dims}: keep EMBEDDINGS as it was, or start on a new database"
                )
                raise DimensionMismatch(msg)
