"""The SQL both hybrid searches share: any of a text's words, and reciprocal rank fusion.

Documents (`knowledge/retrieval.py`) and conversations (`conversations/search.py`) rank
by PostgreSQL full text and by pgvector's cosine distance, then fuse the two rankings.
Both take the same two pieces from here, so they cannot drift apart.
"""

from __future__ import annotations

__all__ = ("ANY_WORD_TERMS", "RRF_K", "fused_score")

# A common choice (Cormack et al., 2009): large enough that the top few of one ranking
# do not drown the other.
RRF_K = 60

# A CTE `terms`: a tsquery matching any of `%(text)s`'s stemmed words. Plain
# `plainto_tsquery` wants all of them, which a question rarely shares with its answer.
ANY_WORD_TERMS = """terms AS (
    SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | ')) AS query
    FROM unnest(tsvector_to_array(to_tsvector('english', %(text)s))) AS lexeme
)"""


def fused_score(fulltext_rank: str, semantic_rank: str) -> str:
    """SQL for the fused score of two ranks (NULL where a ranking lacks the row).

    Scaled so that a row first in both rankings scores 1.0.
    """
    return (
        f"(coalesce(1.0 / ({RRF_K} + {fulltext_rank}), 0)"
        f" + coalesce(1.0 / ({RRF_K} + {semantic_rank}), 0)) * {(RRF_K + 1) / 2}"
    )
