"""Requests about memories and documents that `Knowledge` refuses, each with a stable code.

`transport/http_errors` gives each its HTTP status.
"""

from __future__ import annotations

from threadline.errors import DomainError
from threadline.knowledge.documents import OverQuota

__all__ = (
    "BlankMemory",
    "DocumentNotFound",
    "DocumentStorageFull",
    "DocumentTooLarge",
    "EmptyDocument",
    "KnowledgeError",
    "MemoryDisabled",
    "MemoryNotFound",
    "TooManyDocuments",
    "TooManyMemories",
    "TooManyUploads",
    "UnsupportedDocument",
    "refusal",
)


class KnowledgeError(DomainError):
    """A request about memories or documents refused; `detail` is for humans."""


class BlankMemory(KnowledgeError):
    """A memory of nothing but blanks: a request like any other invalid one."""

    code = "invalid_request"
    default_detail = "text: a memory needs some text besides blanks"


class MemoryNotFound(KnowledgeError):
    """No such memory for this user."""

    code = "memory_not_found"
    default_detail = "no memory with this id exists for this user"


class MemoryDisabled(KnowledgeError):
    """MEMORY is off on this server."""

    code = "memory_disabled"
    default_detail = "long-term memory is turned off on this server (MEMORY=off)"


class TooManyMemories(KnowledgeError):
    """The user keeps as many memories as they may."""

    code = "too_many_memories"
    default_detail = "this user already keeps the most memories allowed; delete some first"


class DocumentNotFound(KnowledgeError):
    """No such document for this owner."""

    code = "document_not_found"
    default_detail = "no document with this id exists for this user"


class UnsupportedDocument(KnowledgeError):
    """Not a kind of file the knowledge base reads."""

    code = "unsupported_document"
    default_detail = "upload text (.txt), Markdown (.md), HTML (.html) or PDF (.pdf)"


class EmptyDocument(KnowledgeError):
    """An upload with nothing in it."""

    code = "empty_document"
    default_detail = "the file is empty"


class DocumentTooLarge(KnowledgeError):
    """An upload over DOCUMENT_MAX_BYTES."""

    code = "document_too_large"


class TooManyDocuments(KnowledgeError):
    """The user keeps MAX_DOCUMENTS_PER_USER documents."""

    code = "too_many_documents"


class DocumentStorageFull(KnowledgeError):
    """The upload would take the user's documents past MAX_DOCUMENT_BYTES_PER_USER."""

    code = "document_storage_full"


class TooManyUploads(KnowledgeError):
    """The user has MAX_UPLOADS_IN_FLIGHT_PER_USER documents still being indexed."""

    code = "too_many_uploads"


def refusal(over: OverQuota) -> KnowledgeError:
    """The refusal of an upload past its owner's quota."""
    if over.what == "documents":
        return TooManyDocuments(
            f"this user already keeps {over.limit} documents, the most allowed; delete some first"
        )
    if over.what == "bytes":
        return DocumentStorageFull(
            f"this user's documents would take more than {over.limit} bytes; delete some first"
        )
    return TooManyUploads(
        f"this user has {over.limit} documents being indexed; upload more once they are done"
    )
