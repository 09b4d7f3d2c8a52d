"""`/users/{id}/memories`, `/users/{id}/documents`, `/users/{id}/search`, `/admin/documents`.

Every route acts for the path's user only (the access middleware checked the caller is
that user), so another user's memory or document answers exactly like a missing one.
Shared documents, read by everyone's retrieval, are managed by an admin credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from threadline.conversations.search import SearchHit
from threadline.knowledge.documents import Document
from threadline.knowledge.memories import MAX_MEMORY_CHARS, Memory
from threadline.knowledge.service import Knowledge
from threadline.transport.params import UserId
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = (
    "UPLOAD",
    "DocumentsController",
    "MemoriesController",
    "SharedDocumentsController",
    "search_conversations",
)

# Marks the upload routes: a body over their size limit answers `document_too_large`.
UPLOAD = "upload"

# `$(?!\n)`: the whole string, not before a final newline (see USER_ID_PATTERN).
ItemId = Annotated[str, PathParameter(pattern=r"^[A-Za-z0-9_-]{1,64}$(?!\n)")]


class NewMemory(msgspec.Struct, forbid_unknown_fields=True):
    """A fact to remember: 1-1000 characters."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MEMORY_CHARS)]


class Memories(msgspec.Struct):
    """A user's memories, oldest first."""

    items: list[Memory]


class Documents(msgspec.Struct):
    """Documents, newest first."""

    items: list[Document]


class SearchResults(msgspec.Struct):
    """Conversations ranked by how well what was said in them matches the query."""

    items: list[SearchHit]


@dataclass
class DocumentForm:
    """A multipart form with the document in its `file` field."""

    file: UploadFile


def _knowledge(state: State) -> Knowledge:
    knowledge = services_of(state).chat.knowledge
    if knowledge is None:  # only a chat service built without one (tests of the core)
        msg = "this server was started without memory and documents"
        raise RuntimeError(msg)
    return knowledge


class MemoriesController(Controller):
    """`/users/{user_id}/memories`: what the assistant remembers about a user."""

    path = "/users/{user_id:str}/memories"
    tags = ["memories"]  # noqa: RUF012 - Litestar's declared attribute type

    @get("/")
    async def list_memories(self, state: State, user_id: UserId) -> Memories:
        """Every memory of the user, oldest first."""
        return Memories(await _knowledge(state).memories(user_id))

    @post("/")
    async def add_memory(self, state: State, user_id: UserId, data: JSONBody[NewMemory]) -> Memory:
        """Save a memory, as the `remember` tool does."""
        return await _knowledge(state).remember(user_id, data.text)

    @delete("/{memory_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_memory(self, state: State, user_id: UserId, memory_id: ItemId) -> None:
        """Forget one memory."""
        await _knowledge(state).forget(user_id, memory_id)


async def _upload(state: State, owner: str | None, form: DocumentForm) -> Document:
    content = await form.file.read()
    return await _knowledge(state).upload(
        owner, form.file.filename, form.file.content_type, content
    )


Upload = Annotated[DocumentForm, Body(media_type=RequestEncodingType.MULTI_PART)]


class DocumentsController(Controller):
    """`/users/{user_id}/documents`: a user's knowledge base."""

    path = "/users/{user_id:str}/documents"
    tags = ["documents"]  # noqa: RUF012 - Litestar's declared attribute type

    @post("/", status_code=HTTP_202_ACCEPTED, opt={UPLOAD: True})
    async def upload_document(self, state: State, user_id: UserId, data: Upload) -> Document:
        """Upload a document (text, Markdown, HTML or PDF) to index in the background.

        Its `status` goes from `indexing` to `ready`, or to `failed` with a `reason`.
        """
        return await _upload(state, user_id, data)

    @get("/")
    async def list_documents(self, state: State, user_id: UserId) -> Documents:
        """The user's documents, newest first."""
        return Documents(await _knowledge(state).documents(user_id))

    @get("/{document_id:str}")
    async def get_document(self, state: State, user_id: UserId, document_id: ItemId) -> Document:
        """One document and its indexing status."""
        return await _knowledge(state).document(user_id, document_id)

    @delete("/{document_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_document(self, state: State, user_id: UserId, document_id: ItemId) -> None:
        """Delete a document and its passages; replies no longer cite it."""
        await _knowledge(state).delete_document(user_id, document_id)


class SharedDocumentsController(Controller):
    """`/admin/documents`: documents every user's retrieval reads (admin only)."""

    path = "/admin/documents"
    tags = ["admin"]  # noqa: RUF012 - Litestar's declared attribute type
    opt = {"admin": True}  # noqa: RUF012 - checked by the access middleware

    @post("/", status_code=HTTP_202_ACCEPTED, opt={UPLOAD: True})
    async def upload_shared_document(self, state: State, data: Upload) -> Document:
        """Upload a document to the shared collection."""
        return await _upload(state, None, data)

    @get("/")
    async def list_shared_documents(self, state: State) -> Documents:
        """The shared documents, newest first."""
        return Documents(await _knowledge(state).documents(None))

    @get("/{document_id:str}")
    async def get_shared_document(self, state: State, document_id: ItemId) -> Document:
        """One shared document."""
        return await _knowledge(state).document(None, document_id)

    @delete("/{document_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_shared_document(self, state: State, document_id: ItemId) -> None:
        """Delete a shared document."""
        await _knowledge(state).delete_document(None, document_id)


@get("/users/{user_id:str}/search", tags=["conversations"])
async def search_conversations(
    state: State,
    user_id: UserId,
    q: Annotated[str, QueryParameter(min_length=1, max_length=500, description="What to find.")],
    limit: Annotated[int, QueryParameter(ge=1, le=50, description="The most hits.")] = 10,
) -> SearchResults:
    """The user's conversations ranked by what was said in them (full text and meaning)."""
    return SearchResults(await _knowledge(state).search(user_id, q, limit))


def upload_refused(request: Request[Any, Any, Any]) -> bool:
    """Whether a request is an upload (its too-large body is a too-large document)."""
    return bool(request.route_handler.opt.get(UPLOAD))
