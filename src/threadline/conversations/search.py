"""Search over one user's own conversations, by words and by meaning.

Messages stay in the checkpoints. The search index (`threadline_message_index`, one row
per message with its words and its embedding) is derived from them and brought up to date
when searched: a conversation whose activity is newer than what was indexed is read again
and its new messages embedded, its vanished ones (a regenerated reply) dropped. A lost
index is therefore rebuilt by the next search, and a deleted conversation drops out too.
"""

from __future__ import annotations

import msgspec
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from psycopg import sql

from threadline.llm.embeddings import Embedder, vector_literal
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.database import Pool
from threadline.storage.namespaces import user_namespace
from threadline.storage.ranking import ANY_WORD_TERMS, fused_score
from threadline.storage.text import storable

__all__ = ("REFRESH_AT_ONCE", "ConversationSearch", "SearchHit", "describe_hits")

# Conversations brought up to date by one search, newest first; the rest by the next ones.
REFRESH_AT_ONCE = 200
_AROUND = 80  # characters of context on each side of a match
_MIN_SIMILARITY = 0.35

_STALE = """
SELECT s.key AS conversation_id, s.updated_at FROM store s
LEFT JOIN threadline_search_state t ON t.conversation_id = s.key
WHERE s.prefix = %(prefix)s AND t.indexed_at IS DISTINCT FROM s.updated_at
ORDER BY s.updated_at DESC LIMIT %(limit)s
"""
# Index rows of conversations this user no longer has (deleted, erased, expired).
_ORPHANS = """
WITH gone AS (
    DELETE FROM threadline_search_state t WHERE t.owner = %(owner)s AND NOT EXISTS
        (SELECT 1 FROM store s WHERE s.prefix = %(prefix)s AND s.key = t.conversation_id)
    RETURNING conversation_id
)
DELETE FROM threadline_message_index m USING gone WHERE m.conversation_id = gone.conversation_id
"""
_INDEXED_IDS = "SELECT message_id FROM threadline_message_index WHERE conversation_id = %s"
_DROP = """
DELETE FROM threadline_message_index
WHERE conversation_id = %(conversation)s AND NOT (message_id = ANY(%(keep)s))
"""
_ADD = """
INSERT INTO threadline_message_index (owner, conversation_id, message_id, role, text, embedding)
VALUES (%s, %s, %s, %s, %s, %s::vector) ON CONFLICT DO NOTHING
"""
_MARK = """
INSERT INTO threadline_search_state (conversation_id, owner, indexed_at)
VALUES (%(conversation)s, %(owner)s, %(at)s)
ON CONFLICT (conversation_id) DO UPDATE SET indexed_at = excluded.indexed_at
"""
# Composed once, from constants; every value is a query parameter.
_SEARCH = f"""
WITH {ANY_WORD_TERMS},
mine AS (
    SELECT * FROM threadline_message_index
    WHERE owner = %(owner)s AND conversation_id IS DISTINCT FROM %(exclude)s
),
fulltext AS (
    SELECT m.conversation_id, m.message_id,
           row_number() OVER (ORDER BY ts_rank_cd(m.words, terms.query) DESC) AS rank
    FROM mine m, terms WHERE m.words @@ terms.query
    ORDER BY rank LIMIT 100
),
semantic AS (
    SELECT m.conversation_id, m.message_id,
           row_number() OVER (ORDER BY m.embedding <=> %(vector)s::vector) AS rank
    FROM mine m WHERE 1 - (m.embedding <=> %(vector)s::vector) >= %(similarity)s
    ORDER BY rank LIMIT 100
),
fused AS (
    SELECT conversation_id, message_id,
           {fused_score("f.rank", "s.rank")} AS score
    FROM fulltext f FULL JOIN semantic s USING (conversation_id, message_id)
),
best AS (
    SELECT DISTINCT ON (conversation_id) conversation_id, message_id, score FROM fused
    ORDER BY conversation_id, score DESC
)
SELECT b.conversation_id, b.message_id, b.score, m.role, m.text,
       st.value->>'title' AS title
FROM best b
JOIN threadline_message_index m USING (conversation_id, message_id)
JOIN store st ON st.prefix = %(prefix)s AND st.key = b.conversation_id
ORDER BY b.score DESC, b.conversation_id LIMIT %(limit)s
"""  # noqa: S608


class SearchHit(msgspec.Struct, kw_only=True):
    """A conversation that matches, and its message that matches best."""

    conversation_id: str
    title: str | None
    message_id: str
    role: str  # "user" or "assistant"
    snippet: str
    score: float


def _snippet(text: str, query: str) -> str:
    """The message around the first word of the query it contains (or its start)."""
    folded = text.casefold()
    found = [folded.find(w) for w in query.casefold().split() if len(w) > 2]
    at = min((i for i in found if i >= 0), default=0)
    start, end = max(at - _AROUND, 0), min(at + _AROUND * 2, len(text))
    return (
        ("…" if start else "")
        + " ".join(text[start:end].split())
        + ("…" if end < len(text) else "")
    )


def _searchable(messages: list[AnyMessage]) -> list[tuple[str, str, str]]:
    """(message id, role, text) of each user and assistant message that has text."""
    rows = []
    for message in messages:
        if isinstance(message, HumanMessage | AIMessage) and message.id and message.text.strip():
            role = "user" if isinstance(message, HumanMessage) else "assistant"
            # An earlier release stored NUL through some edges; PostgreSQL's text holds none.
            rows.append((message.id, role, storable(str(message.text))))
    return rows


class ConversationSearch:
    """Finds a user's conversations by what was said in them."""

    def __init__(self, ledger: Ledger, pool: Pool, embedder: Embedder) -> None:
        self._ledger = ledger
        self._pool = pool
        self._embedder = embedder

    async def search(
        self, user_id: str, query: str, *, limit: int = 5, exclude: str | None = None
    ) -> list[SearchHit]:
        """Up to `limit` conversations of `user_id`, best match first.

        Args:
            user_id: Whose conversations; nobody else's are read.
            query: Words to look for (any of them, stemmed), or a meaning to look for.
            limit: The most hits returned, one per conversation.
            exclude: A conversation to leave out (the one asking).
        """
        query = storable(query)
        if not query.strip():
            return []
        await self.refresh(user_id)
        (vector,) = await self._embedder.embed([query])
        params = {
            "text": query,
            "owner": user_id,
            "exclude": exclude,
            "vector": vector_literal(vector),
            "similarity": _MIN_SIMILARITY,
            "prefix": ".".join(user_namespace(user_id, "conversations")),
            "limit": limit,
        }
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_SEARCH, params)).fetchall()
        return [
            SearchHit(
                conversation_id=row["conversation_id"],
                title=row["title"],
                message_id=row["message_id"],
                role=row["role"],
                snippet=_snippet(row["text"], query),
                score=round(float(row["score"]), 4),
            )
            for row in rows
        ]

    async def refresh(self, user_id: str) -> int:
        """Bring the index of `user_id`'s conversations up to date; returns how many changed."""
        prefix = ".".join(user_namespace(user_id, "conversations"))
        async with self._pool.connection() as conn:
            await conn.execute(_ORPHANS, {"owner": user_id, "prefix": prefix})
            cursor = await conn.execute(_STALE, {"prefix": prefix, "limit": REFRESH_AT_ONCE})
            stale = await cursor.fetchall()
        for row in stale:
            await self._reindex(user_id, row["conversation_id"], row["updated_at"])
        return len(stale)

    async def _reindex(self, user_id: str, conversation_id: str, updated_at: object) -> None:
        messages = _searchable(await self._ledger.transcript(conversation_id))
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_INDEXED_IDS, (conversation_id,))
            indexed = {row["message_id"] for row in await cursor.fetchall()}
        new = [m for m in messages if m[0] not in indexed]
        vectors = await self._embedder.embed([text for _, _, text in new])
        rows = [
            (user_id, conversation_id, message_id, role, text, vector_literal(vector))
            for (message_id, role, text), vector in zip(new, vectors, strict=True)
        ]
        keep = [message_id for message_id, _, _ in messages]
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(_DROP, {"conversation": conversation_id, "keep": keep})
            if rows:
                async with conn.cursor() as cursor:
                    await cursor.executemany(_ADD, rows)
            mark = {"conversation": conversation_id, "owner": user_id, "at": updated_at}
            await conn.execute(_MARK, mark)

    async def forget(self, conversation_ids: list[str]) -> None:
        """Drop conversations from the index (they were deleted)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "DELETE FROM threadline_message_index WHERE conversation_id = ANY(%s)",
                (conversation_ids,),
            )
            await conn.execute(
                "DELETE FROM threadline_search_state WHERE conversation_id = ANY(%s)",
                (conversation_ids,),
            )

    async def erase(self, user_id: str) -> None:
        """Drop every entry of `user_id` (erasure)."""
        async with self._pool.connection() as conn:
            for table in ("threadline_message_index", "threadline_search_state"):
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE owner = %s").format(sql.Identifier(table)),
                    (user_id,),
                )


def describe_hits(query: str, hits: list[SearchHit]) -> str:
    """The hits as the model reads them: one line per conversation."""
    if not hits:
        return f"No earlier conversation of this user mentions {query!r}."
    lines = [f"{len(hits)} earlier conversation(s) mention {query!r}:"]
    for hit in hits:
        title = hit.title or "untitled"
        lines.append(f'- "{title}" (conversation {hit.conversation_id}), {hit.role}: {hit.snippet}')
    return "\n".join(lines)
