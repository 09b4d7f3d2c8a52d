"""Documents cut into passages small enough to embed well and to quote.

Paragraphs are kept whole when they fit and packed together up to `CHUNK_CHARS`; a longer
paragraph is cut between sentences, and a sentence longer still between words.
"""

from __future__ import annotations

import re

__all__ = ("CHUNK_CHARS", "MAX_CHUNKS", "chunk_text")

CHUNK_CHARS = 800
MAX_CHUNKS = 5000  # per document: about 4 MB of text

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def chunk_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """The passages of `text`, in order, each at most `size` characters."""
    return _packed(_pieces(text, size), size)


def _packed(pieces: list[tuple[str, str]], size: int) -> list[str]:
    """Pieces joined (each by its own joiner) into runs of at most `size` characters."""
    runs: list[str] = []
    current = ""
    for piece, joiner in pieces:
        if current and len(current) + len(joiner) + len(piece) > size:
            runs.append(current)
            current = ""
        current = f"{current}{joiner}{piece}" if current else piece
    if current:
        runs.append(current)
    return runs


def _pieces(text: str, size: int) -> list[tuple[str, str]]:
    """Paragraphs, those too long cut into sentences, and those into words.

    Each piece comes with what joins it to the one before: a paragraph break, or a space
    between the parts of one paragraph.
    """
    pieces: list[tuple[str, str]] = []
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        if len(paragraph) <= size:
            pieces.append((paragraph, "\n\n"))
            continue
        parts = [
            part
            for sentence in _SENTENCE_END.split(paragraph)
            for part in (_words(sentence, size) if len(sentence) > size else [sentence])
        ]
        pieces.extend((part, " " if i else "\n\n") for i, part in enumerate(parts))
    return pieces


def _words(sentence: str, size: int) -> list[str]:
    """A sentence too long for one passage, cut between words (a word longer is cut)."""
    return _packed([(word[:size], " ") for word in sentence.split()], size)
