"""The knowledge base's documents: a user's own, or shared with everyone (owner None).

A document is stored with its upload and status `indexing`; the indexer turns it into
passages and, in one transaction, stores them and marks it `ready` (or `failed`, with the
reason, and none of them). Either way the upload is then dropped.

A user's documents are bounded (`Quota`): how many (failed ones too, until deleted), the
bytes of those not failed as uploaded, and how many are still being indexed; an upload
past one is refused before anything is stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal, LiteralString

import msgspec

from threadline.storage.database import Pool

__all__ = ("Document", "DocumentStore", "OverQuota", "Quota", "Upload")

Status = Literal["indexing", "ready", "failed"]


class Document(msgspec.Struct, kw_only=True):
    """A document as its owner sees it."""

    document_id: str
    title: str
    status: Status
    media_type: str
    size_bytes: int
    chunks: int
    created_at: str
    reason: str | None = None
    shared: bool = False


class Upload(msgspec.Struct, frozen=True):
    """What an upload brought, once its kind is known."""

    title: str
    media_type: str
    content: bytes


class Quota(msgspec.Struct, frozen=True, kw_only=True):
    """What one user may keep: documents, their bytes, and uploads still indexing."""

    documents: int = 500
    bytes: int = 100 * 1024 * 1024
    in_flight: int = 4


class OverQuota(Exception):
    """An upload would take its owner past `what` (a field of `Quota`)."""

    def __init__(self, what: Literal["documents", "bytes", "in_flight"], limit: int) -> None:
        self.what = what
        self.limit = limit
        super().__init__(f"{what}: at most {limit}")


def _document(row: dict[str, Any]) -> Document:
    created: datetime = row["created_at"]
    return Document(
        document_id=row["document_id"],
        title=row["title"],
        status=row["status"],
        media_type=row["media_type"],
        size_bytes=row["size_bytes"],
        chunks=row["chunks"],
        created_at=created.isoformat(),
        reason=row["reason"],
        shared=row["owner"] is None,
    )


# `owner IS NOT DISTINCT FROM`: None (shared) matches only shared documents.
_LIST = """
SELECT document_id, owner, title, status, media_type, size_bytes, chunks, created_at, reason
FROM threadline_documents WHERE owner IS NOT DISTINCT FROM %(owner)s
ORDER BY created_at DESC
"""
_GET = """
SELECT document_id, owner, title, status, media_type, size_bytes, chunks, created_at, reason
FROM threadline_documents
WHERE document_id = %(id)s AND owner IS NOT DISTINCT FROM %(owner)s
"""
_DELETE = """
DELETE FROM threadline_documents
WHERE document_id = %(id)s AND owner IS NOT DISTINCT FROM %(owner)s
"""
_CREATE = """
INSERT INTO threadline_documents
    (document_id, owner, title, media_type, size_bytes, status, content)
VALUES (%(id)s, %(owner)s, %(title)s, %(media_type)s, %(size)s, 'indexing', %(content)s)
RETURNING document_id, owner, title, status, media_type, size_bytes, chunks, created_at, reason
"""


# Uploads of one owner are counted and stored one at a time, on every server.
_SERIALIZE = "SELECT pg_advisory_xact_lock(hashtextextended('documents/' || %(owner)s, 0))"
_HELD = """
SELECT count(*) AS documents,
    coalesce(sum(size_bytes) FILTER (WHERE status <> 'failed'), 0) AS bytes,
    count(*) FILTER (WHERE status = 'indexing') AS in_flight
FROM threadline_documents WHERE owner = %(owner)s
"""


class DocumentStore:
    """Documents and their passages in PostgreSQL."""

    def __init__(self, pool: Pool, quota: Quota | None = None) -> None:
        self._pool = pool
        self._quota = quota or Quota()

    async def create(self, owner: str | None, upload: Upload) -> Document:
        """Store an upload as a new document being indexed.

        Raises:
            OverQuota: A user's upload past their quota (shared ones have none); nothing
                is stored.
        """
        params = {
            "id": secrets.token_urlsafe(12),
            "owner": owner,
            "title": upload.title,
            "media_type": upload.media_type,
            "size": len(upload.content),
            "content": upload.content,
        }
        async with self._pool.connection() as conn, conn.transaction():
            if owner is not None:
                await conn.execute(_SERIALIZE, {"owner": owner})
                held = await (await conn.execute(_HELD, {"owner": owner})).fetchall()
                self._check(held[0], len(upload.content))
            created = await (await conn.execute(_CREATE, params)).fetchall()
        return _document(created[0])

    def _check(self, held: dict[str, Any], size: int) -> None:
        quota = self._quota  # what is kept first: waiting would not help with that
        if held["documents"] >= quota.documents:
            raise OverQuota("documents", quota.documents)
        if held["bytes"] + size > quota.bytes:
            raise OverQuota("bytes", quota.bytes)
        if held["in_flight"] >= quota.in_flight:
            raise OverQuota("in_flight", quota.in_flight)

    async def of_owner(self, owner: str | None) -> list[Document]:
        """The owner's documents (None: the shared ones), newest first."""
        return await self._rows(_LIST, {"owner": owner})

    async def get(self, owner: str | None, document_id: str) -> Document | None:
        """One document of `owner`; None if it has none by that id."""
        rows = await self._rows(_GET, {"id": document_id, "owner": owner})
        return rows[0] if rows else None

    async def delete(self, owner: str | None, document_id: str) -> bool:
        """Delete one document and its passages; False if `owner` has none by that id."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_DELETE, {"id": document_id, "owner": owner})
            return cursor.rowcount > 0

    async def erase(self, owner: str) -> int:
        """Delete every document of `owner`; returns how many went."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "DELETE FROM threadline_documents WHERE owner = %s", (owner,)
            )
            return cursor.rowcount

    async def _rows(self, query: LiteralString, params: dict[str, Any]) -> list[Document]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query, params)
            return [_document(row) for row in await cursor.fetchall()]
