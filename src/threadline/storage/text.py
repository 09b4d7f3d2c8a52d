"""Text as PostgreSQL can store and compare it."""

from __future__ import annotations

__all__ = ("storable",)


def storable(text: str) -> str:
    """`text` with each NUL character made a space: a PostgreSQL `text` cannot hold NUL.

    For text that arrives from outside (a query, a memory, a document's words), where a
    NUL means nothing and refusing the whole of it would help nobody.
    """
    return text.replace("\x00", " ")
