"""Indexing uploads in the background: text out, passages cut, embedded, stored at once.

Each passage is embedded and indexed with its document's title before it (its context),
since a passage rarely names what it is about; the passage itself is what gets quoted.

Text is read in reader processes (`knowledge/readers.py`), within bounds of time, memory
and output; as many documents are indexed at once as there are readers, at most one per
owner, owners taking turns (`knowledge/rotation.py`). An upload whose indexing was
interrupted (its server died) is claimed again by any server once its claim is
`STALE_AFTER` old, since the upload stays in the row until indexed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import PurePath

from threadline.knowledge.extract import UnreadableDocument
from threadline.knowledge.readers import Readers
from threadline.knowledge.rotation import Owner, Rotation
from threadline.llm.embeddings import Embedder, vector_literal
from threadline.storage.database import Pool
from threadline.storage.periodic import every, stopped

__all__ = ("STALE_AFTER", "DocumentIndexer")

logger = logging.getLogger(__name__)

STALE_AFTER = 300.0  # seconds
_EMBED_BATCH = 256

_CLAIM = """
UPDATE threadline_documents SET claimed_at = now()
WHERE document_id = %(id)s AND status = 'indexing' AND content IS NOT NULL
RETURNING title, media_type, content
"""
_RECLAIM = """
UPDATE threadline_documents SET claimed_at = now()
WHERE status = 'indexing' AND claimed_at < now() - %(stale)s * interval '1 second'
RETURNING document_id, owner
"""
_LOCK = """
SELECT owner FROM threadline_documents
WHERE document_id = %(id)s AND status = 'indexing' FOR UPDATE
"""
_CHUNK = """
INSERT INTO threadline_chunks (document_id, ordinal, owner, context, text, embedding)
VALUES (%s, %s, %s, %s, %s, %s::vector)
"""
_READY = """
UPDATE threadline_documents SET status = 'ready', chunks = %(chunks)s, content = NULL
WHERE document_id = %(id)s
"""
_FAILED = """
UPDATE threadline_documents SET status = 'failed', reason = %(reason)s, content = NULL
WHERE document_id = %(id)s AND status = 'indexing'
"""


class DocumentIndexer:
    """Indexes the documents submitted to it, owners taking turns."""

    def __init__(
        self,
        pool: Pool,
        embedder: Embedder,
        readers: Readers,
        on_ready: Callable[[str | None], None] | None = None,
    ) -> None:
        self._pool = pool
        self._embedder = embedder
        self._readers = readers
        self._waiting: Rotation[str] = Rotation()
        self._tasks: list[asyncio.Task[None]] = []
        # Told the owner (None: shared) of each document that became searchable.
        self._on_ready = on_ready or (lambda _owner: None)

    def start(self) -> None:
        """Index in the background, and take over interrupted indexing now and then."""
        self._tasks = [
            *(asyncio.create_task(self._work()) for _ in range(self._readers.limits.processes)),
            asyncio.create_task(
                every(STALE_AFTER / 5, self.reclaim, logger, "documents.reclaim_failed")
            ),
        ]

    async def stop(self) -> None:
        """Stop; a document left half-way stays `indexing` and is taken over later."""
        for task in self._tasks:
            await stopped(task)
        await self._readers.close()

    def submit(self, document_id: str, owner: Owner) -> None:
        """Index `document_id` of `owner` when its turn comes (once, if submitted twice)."""
        self._waiting.put(owner, document_id)

    async def reclaim(self) -> int:
        """Queue the documents whose indexing was interrupted; returns how many."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_RECLAIM, {"stale": STALE_AFTER})
            rows = await cursor.fetchall()
        for row in rows:
            self.submit(row["document_id"], row["owner"])
        return len(rows)

    async def _work(self) -> None:
        while True:
            owner, document_id = await self._waiting.take()
            try:
                await self.index(document_id)
            except Exception:  # a database outage: the reclaim sweep retries it later
                logger.exception("documents.index_failed")
            finally:
                self._waiting.done(owner, document_id)

    async def index(self, document_id: str) -> None:
        """Index one document now: `ready` with its passages, or `failed` with none."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_CLAIM, {"id": document_id})
            claimed = await cursor.fetchone()
        if claimed is None:
            return  # deleted, or indexed by another server meanwhile
        try:
            chunks = await self._readers.passages(claimed["content"], claimed["media_type"])
        except UnreadableDocument as error:
            await self._fail(document_id, str(error))
            return
        context = PurePath(claimed["title"]).stem
        try:
            vectors = await self._embedded([f"{context}\n{chunk}" for chunk in chunks])
        except Exception as error:
            logger.exception("documents.embedding_failed")
            await self._fail(document_id, f"embedding failed ({type(error).__name__})")
            return
        await self._store(document_id, context, chunks, vectors)

    async def _embedded(self, chunks: list[str]) -> list[str]:
        """The passages' vectors, as pgvector reads them.

        Written out in a thread: for 5,000 passages that takes a good part of a second.
        """
        vectors: list[list[float]] = []
        for start in range(0, len(chunks), _EMBED_BATCH):
            vectors.extend(await self._embedder.embed(chunks[start : start + _EMBED_BATCH]))
        return await asyncio.to_thread(lambda: [vector_literal(vector) for vector in vectors])

    async def _store(
        self, document_id: str, context: str, chunks: list[str], vectors: list[str]
    ) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_LOCK, {"id": document_id})
            row = await cursor.fetchone()
            if row is None:
                return  # deleted while it was being read
            rows = [
                (document_id, ordinal, row["owner"], context, text, vector)
                for ordinal, (text, vector) in enumerate(zip(chunks, vectors, strict=True))
            ]
            async with conn.cursor() as insert:
                await insert.executemany(_CHUNK, rows)
            await conn.execute(_READY, {"id": document_id, "chunks": len(chunks)})
        logger.info("documents.ready", extra={"document_id": document_id, "chunks": len(chunks)})
        self._on_ready(row["owner"])

    async def _fail(self, document_id: str, reason: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_FAILED, {"id": document_id, "reason": reason})
        logger.info("documents.failed", extra={"document_id": document_id, "reason": reason})
