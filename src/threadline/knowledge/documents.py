"""The knowledge base's documents: a user's own, or shared with everyone (owner None).

A document is stored with its upload and status `indexing`; the indexer turns it into
passages and, in one transaction, stores them and marks it `ready` (or `failed`, with the
reason, and none of them). Either way the upload is then dropped.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal, LiteralString

import msgspec

from threadline.storage.database import Pool

__all__ = ("Document", "DocumentStore", "Upload")

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


class DocumentStore:
    """Documents and their passages in PostgreSQL."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def create(self, owner: str | None, upload: Upload) -> Document:
        """Store an upload as a new document being indexed."""
        params = {
            "id": secrets.token_urlsafe(12),
            "owner": owner,
            "title": upload.title,
            "media_type": upload.media_type,
            "size": len(upload.content),
            "content": upload.content,
        }
        return (await self._rows(_CREATE, params))[0]

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
