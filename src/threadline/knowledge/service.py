"""What a user keeps beyond a conversation: memories, documents, and search over chats.

The one place the REST API, the agent's tools and erasure reach them through, each call
scoped to one owner (a user, or None for the shared collection), so that another user's
memory or document looks exactly like a missing one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from threadline.conversations.search import ConversationSearch, SearchHit, describe_hits
from threadline.conversations.titles import MAX_TITLE_CHARS, visible_title
from threadline.knowledge.documents import Document, DocumentStore, OverQuota, Upload
from threadline.knowledge.errors import (
    BlankMemory,
    DocumentNotFound,
    DocumentTooLarge,
    EmptyDocument,
    MemoryDisabled,
    MemoryNotFound,
    TooManyMemories,
    UnsupportedDocument,
    refusal,
)
from threadline.knowledge.extract import kind_of
from threadline.knowledge.holdings import HoldingsCache
from threadline.knowledge.indexer import DocumentIndexer
from threadline.knowledge.memories import Memories, Memory, MemoryLimit, memory_text
from threadline.knowledge.retrieval import Retriever, describe_sources
from threadline.llm.embeddings import Embedder
from threadline.llm.prompts import DOCUMENTS_NOTE, MEMORIES_HEADING

__all__ = ("Knowledge",)

logger = logging.getLogger(__name__)

_PASSAGES = 4  # passages a document search answers with


class _Parts(msgspec.Struct, frozen=True):
    memories: Memories
    documents: DocumentStore
    indexer: DocumentIndexer
    retriever: Retriever
    search: ConversationSearch


class Knowledge:
    """Memories, the knowledge base and conversation search, for one owner at a time."""

    def __init__(  # noqa: PLR0913 - its parts, each named
        self,
        memories: Memories,
        documents: DocumentStore,
        indexer: DocumentIndexer,
        retriever: Retriever,
        search: ConversationSearch,
        *,
        holdings: HoldingsCache,
        changed: Callable[[str | None], None] | None = None,
        embedder: Embedder | None = None,
        memory_on: bool = True,
        max_document_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self._parts = _Parts(memories, documents, indexer, retriever, search)
        self._embedder = embedder
        self._holdings = holdings
        # Told whose memories or documents changed: this process's holdings alone, or
        # every process's (`Relay.changed`, which forgets here too).
        self._changed = changed or holdings.forget
        self.memory_on = memory_on
        self.max_document_bytes = max_document_bytes

    def start(self) -> None:
        """Index uploaded documents in the background."""
        self._parts.indexer.start()

    async def reclaim(self) -> int:
        """Take over indexing interrupted by a server that died; returns how many."""
        return await self._parts.indexer.reclaim()

    async def stop(self) -> None:
        """Stop indexing (what is half-way is taken over at the next start)."""
        await self._parts.indexer.stop()
        if self._embedder is not None:
            await self._embedder.close()

    # Memories -------------------------------------------------------------------------

    async def memories(self, user_id: str) -> list[Memory]:
        """Every memory of `user_id`, oldest first."""
        self._need_memory()
        return await self._parts.memories.all_of(user_id)

    async def remember(self, user_id: str, text: str) -> Memory:
        """Save a memory.

        Raises:
            MemoryDisabled: MEMORY is off.
            BlankMemory: The text is only blanks.
            TooManyMemories: The user keeps the most allowed.
        """
        self._need_memory()
        if not memory_text(text):
            raise BlankMemory
        try:
            memory = await self._parts.memories.add(user_id, text)
        except MemoryLimit:
            raise TooManyMemories from None
        self._changed(user_id)
        return memory

    async def forget(self, user_id: str, memory_id: str) -> None:
        """Delete one memory.

        Raises:
            MemoryNotFound: Not a memory of this user.
        """
        self._need_memory()
        if not await self._parts.memories.delete(user_id, memory_id):
            raise MemoryNotFound
        self._changed(user_id)

    def _need_memory(self) -> None:
        if not self.memory_on:
            raise MemoryDisabled

    # Documents ------------------------------------------------------------------------

    async def upload(
        self, owner: str | None, filename: str, media_type: str | None, content: bytes
    ) -> Document:
        """Store a document and queue it for indexing.

        Raises:
            UnsupportedDocument, EmptyDocument, DocumentTooLarge: Refused; nothing stored.
            TooManyDocuments, DocumentStorageFull, TooManyUploads: Past the user's
                quota; nothing stored.
        """
        kind = kind_of(filename, media_type)
        if kind is None:
            raise UnsupportedDocument
        if not content:
            raise EmptyDocument
        if len(content) > self.max_document_bytes:
            raise DocumentTooLarge(f"a document may be at most {self.max_document_bytes} bytes")
        # The file's own name, without any path or invisible characters.
        name = filename.replace("\\", "/").rsplit("/", 1)[-1]
        title = visible_title(name[: 4 * MAX_TITLE_CHARS])[:MAX_TITLE_CHARS] or "untitled"
        try:
            document = await self._parts.documents.create(owner, Upload(title, kind, content))
        except OverQuota as over:
            raise refusal(over) from None
        self._parts.indexer.submit(document.document_id, owner)
        return document

    async def documents(self, owner: str | None) -> list[Document]:
        """The owner's documents, newest first."""
        return await self._parts.documents.of_owner(owner)

    async def document(self, owner: str | None, document_id: str) -> Document:
        """One document of the owner.

        Raises:
            DocumentNotFound: Not a document of this owner.
        """
        found = await self._parts.documents.get(owner, document_id)
        if found is None:
            raise DocumentNotFound
        return found

    async def delete_document(self, owner: str | None, document_id: str) -> None:
        """Delete a document and its passages: never cited again.

        Raises:
            DocumentNotFound: Not a document of this owner.
        """
        if not await self._parts.documents.delete(owner, document_id):
            raise DocumentNotFound
        self._changed(owner)

    # Search and the agent's tools -----------------------------------------------------

    async def search(self, user_id: str, query: str, limit: int) -> list[SearchHit]:
        """The user's conversations that best match `query`."""
        return await self._parts.search.search(user_id, query, limit=limit)

    async def search_for_tool(self, user_id: str, query: str, exclude: str | None) -> str:
        """`search_conversations`: the hits as the model reads them."""
        hits = await self._parts.search.search(user_id, query, exclude=exclude)
        return describe_hits(query, hits)

    async def remember_for_tool(self, user_id: str, text: str) -> str:
        """`remember`: save, and say what was saved."""
        memory = await self.remember(user_id, text)
        return f'Saved to memory: "{memory.text}"'

    async def retrieve_for_tool(
        self, user_id: str, query: str, attached: Sequence[str] = ()
    ) -> tuple[str, list[dict[str, Any]]]:
        """`search_documents`: the passages, numbered, and their citations.

        The conversation's `attached` documents are searched first; the user's others
        (and the shared ones) fill what places are left.
        """
        retriever = self._parts.retriever
        first = await retriever.search(user_id, query, only=attached) if attached else []
        rest = await retriever.search(user_id, query) if len(first) < _PASSAGES else []
        seen = {(c.document_id, c.text) for c in first}
        citations = [*first, *(c for c in rest if (c.document_id, c.text) not in seen)]
        citations = citations[:_PASSAGES]
        return describe_sources(citations), [msgspec.structs.asdict(c) for c in citations]

    async def brief(self, user_id: str, message: str, *, documents: bool) -> list[str]:
        """Notes for the model at the start of a turn.

        The memories recalled for `message`, and whether the user has documents to search
        (asked only when `documents`: the tool is offered).
        """
        held = await self._holdings.of(user_id)
        notes = []
        if (
            self.memory_on
            and held.memories
            and (recalled := await self._parts.memories.recall(user_id, message))
        ):
            lines = "\n".join(f"- {memory.text}" for memory in recalled)
            notes.append(f"{MEMORIES_HEADING}\n{lines}")
        if documents and held.documents:
            notes.append(DOCUMENTS_NOTE)
        return notes

    # Forgetting -----------------------------------------------------------------------

    async def forget_conversation(self, conversation_id: str) -> None:
        """Drop a deleted conversation from search."""
        await self._parts.search.forget([conversation_id])

    async def erase(self, user_id: str) -> tuple[int, int]:
        """Erase a user's memories, documents and search entries; (memories, documents)."""
        memories = await self._parts.memories.erase(user_id)
        documents = await self._parts.documents.erase(user_id)
        await self._parts.search.erase(user_id)
        self._changed(user_id)
        logger.info("knowledge.erased", extra={"memories": memories, "documents": documents})
        return memories, documents
