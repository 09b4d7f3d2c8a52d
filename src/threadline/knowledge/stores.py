"""The store that holds memories: LangGraph's `AsyncPostgresStore` with a vector index."""

from __future__ import annotations

from typing import Any

from langgraph.store.postgres.aio import AsyncPostgresStore
from langgraph.store.postgres.base import PostgresIndexConfig

from threadline.llm.embeddings import Embedder

__all__ = ("vector_store",)


def vector_store(conn: Any, embedder: Embedder) -> AsyncPostgresStore:
    """A store on `conn` (a pool or a connection) that embeds each item's `text` field.

    Recall always filters to one user's namespace, which the store's query does before it
    ranks; its approximate (HNSW) index is what LangGraph's migrations create.
    """
    index: PostgresIndexConfig = {
        "dims": embedder.dims,
        "embed": embedder.embed,
        "fields": ["text"],
        "distance_type": "cosine",
    }
    return AsyncPostgresStore(conn, index=index)
