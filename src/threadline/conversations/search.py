"""Search over one user's own conversations: titles and messages, newest first.

It reads the user's most recent conversations (their index entries, then their stored
transcripts), so it only ever sees what that user owns. Without a search index it reads
at most `RECENT` conversations per query.
"""

from __future__ import annotations

import msgspec
from langchain_core.messages import AIMessage, HumanMessage

from threadline.conversations.index import ConversationIndex
from threadline.storage.checkpoints.ledger import Ledger

__all__ = ("RECENT", "ConversationSearch", "SearchHit", "describe_hits")

RECENT = 30
_AROUND = 80  # characters of context on each side of a match


class SearchHit(msgspec.Struct):
    """A conversation that matches, and where."""

    conversation_id: str
    title: str | None
    role: str  # "title", "user" or "assistant"
    snippet: str


def _snippet(text: str, at: int, length: int) -> str:
    start, end = max(at - _AROUND, 0), min(at + length + _AROUND, len(text))
    return (
        ("…" if start else "")
        + " ".join(text[start:end].split())
        + ("…" if end < len(text) else "")
    )


class ConversationSearch:
    """Finds a user's conversations by what was said in them."""

    def __init__(self, index: ConversationIndex, ledger: Ledger) -> None:
        self._index = index
        self._ledger = ledger

    async def search(
        self, user_id: str, query: str, *, limit: int = 5, exclude: str | None = None
    ) -> list[SearchHit]:
        """Up to `limit` conversations of `user_id` whose title or messages contain `query`.

        Args:
            user_id: Whose conversations; nobody else's are read.
            query: Text to look for, case-insensitively.
            limit: The most hits returned, one per conversation.
            exclude: A conversation to leave out (the one asking).
        """
        needle = query.casefold().strip()
        if not needle:
            return []
        hits: list[SearchHit] = []
        for summary in (await self._index.list(user_id, RECENT)).items:
            if summary.conversation_id == exclude:
                continue
            hit = await self._match(summary.conversation_id, summary.title, needle)
            if hit is not None:
                hits.append(hit)
                if len(hits) >= limit:
                    break
        return hits

    async def _match(
        self, conversation_id: str, title: str | None, needle: str
    ) -> SearchHit | None:
        if title and (at := title.casefold().find(needle)) >= 0:
            return SearchHit(conversation_id, title, "title", _snippet(title, at, len(needle)))
        for message in reversed(await self._ledger.transcript(conversation_id)):
            if not isinstance(message, HumanMessage | AIMessage):
                continue
            text = str(message.text)
            if (at := text.casefold().find(needle)) >= 0:
                role = "user" if isinstance(message, HumanMessage) else "assistant"
                return SearchHit(conversation_id, title, role, _snippet(text, at, len(needle)))
        return None


def describe_hits(query: str, hits: list[SearchHit]) -> str:
    """The hits as the model reads them: one line per conversation."""
    if not hits:
        return f"No earlier conversation of this user mentions {query!r}."
    lines = [f"{len(hits)} earlier conversation(s) mention {query!r}:"]
    for hit in hits:
        title = hit.title or "untitled"
        lines.append(f'- "{title}" (conversation {hit.conversation_id}), {hit.role}: {hit.snippet}')
    return "\n".join(lines)
