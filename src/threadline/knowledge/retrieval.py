"""Hybrid retrieval over the knowledge base: full text and meaning, fused by rank.

Two rankings of the passages a user may read (their own documents and the shared ones):
PostgreSQL full text (any of the question's words, stemmed, ranked by `ts_rank_cd`) and
vector similarity (pgvector cosine distance). Reciprocal rank fusion adds `1 / (60 + rank)`
from each list, so a passage high in both wins, and one found by only one still counts.
Scores are scaled so that first in both lists is 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from threadline.llm.embeddings import Embedder, vector_literal
from threadline.storage.database import Pool
from threadline.storage.ranking import ANY_WORD_TERMS, fused_score
from threadline.storage.text import storable

__all__ = ("MIN_SIMILARITY", "Citation", "Mode", "Retriever", "describe_sources")

Mode = Literal["hybrid", "fulltext", "vector"]

_CANDIDATES = 40  # from each ranking, before fusion
# A passage found only by meaning must be at least this similar to the question: the
# nearest passage of an unrelated document is not a source.
MIN_SIMILARITY = 0.3

# Composed once, from constants; every value is a query parameter.
_SEARCH = f"""
WITH {ANY_WORD_TERMS},
fulltext AS (
    SELECT c.document_id, c.ordinal,
           row_number() OVER (ORDER BY ts_rank_cd(c.words, terms.query) DESC) AS rank
    FROM threadline_chunks c, terms
    WHERE %(words)s AND (c.owner = %(owner)s OR c.owner IS NULL) AND c.words @@ terms.query
      AND (%(only)s::text[] IS NULL OR c.document_id = ANY(%(only)s::text[]))
    ORDER BY rank LIMIT %(candidates)s
),
semantic AS (
    SELECT c.document_id, c.ordinal,
           row_number() OVER (ORDER BY c.embedding <=> %(vector)s::vector) AS rank
    FROM threadline_chunks c
    WHERE %(meaning)s AND (c.owner = %(owner)s OR c.owner IS NULL)
      AND (%(only)s::text[] IS NULL OR c.document_id = ANY(%(only)s::text[]))
      AND 1 - (c.embedding <=> %(vector)s::vector) >= %(similarity)s
    ORDER BY rank LIMIT %(candidates)s
)
SELECT d.document_id, d.title, c.text,
       {fused_score("f.rank", "s.rank")} AS score
FROM fulltext f FULL JOIN semantic s USING (document_id, ordinal)
JOIN threadline_chunks c USING (document_id, ordinal)
JOIN threadline_documents d USING (document_id)
ORDER BY score DESC, d.document_id, c.ordinal
LIMIT %(limit)s
"""  # noqa: S608


class Citation(msgspec.Struct, kw_only=True):
    """A passage a reply drew on, and where it came from."""

    document_id: str
    title: str
    text: str
    score: float


class Retriever:
    """Finds the passages that answer a question, among those `owner` may read."""

    def __init__(self, pool: Pool, embedder: Embedder) -> None:
        self._pool = pool
        self._embedder = embedder

    async def search(  # noqa: PLR0913 - the search and its bounds, each named
        self,
        owner: str,
        question: str,
        *,
        limit: int = 4,
        mode: Mode = "hybrid",
        min_similarity: float = MIN_SIMILARITY,
        only: Sequence[str] | None = None,
    ) -> list[Citation]:
        """The best `limit` passages for `question`, best first.

        Args:
            owner: Whose documents, besides the shared ones.
            question: What is asked.
            limit: The most passages returned.
            mode: Both rankings fused, or only one of them (to measure each).
            min_similarity: The least cosine similarity of a passage found by meaning.
            only: Search these documents alone (None: every one `owner` may read).
        """
        question = storable(question)
        if not question.strip():
            return []
        (vector,) = await self._embedder.embed([question])
        params = {
            "text": question,
            "owner": owner,
            "vector": vector_literal(vector),
            "words": mode != "vector",
            "meaning": mode != "fulltext",
            "similarity": min_similarity,
            "candidates": _CANDIDATES,
            "limit": limit,
            "only": None if only is None else list(only),
        }
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_SEARCH, params)
            rows = await cursor.fetchall()
        return [
            Citation(
                document_id=row["document_id"],
                title=row["title"],
                text=row["text"],
                score=round(float(row["score"]), 4),
            )
            for row in rows
        ]


def describe_sources(citations: list[Citation]) -> str:
    """The passages as the model reads them: numbered, with their titles."""
    if not citations:
        return "No passage of the user's documents answers this."
    return "\n\n".join(
        f'[{n}] "{citation.title}": {citation.text}' for n, citation in enumerate(citations, 1)
    )
