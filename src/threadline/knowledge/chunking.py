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
    chunks: list[str] = []
    current = ""
    for piece, new_paragraph in _pieces(text, size):
        joiner = "\n\n" if new_paragraph else " "
        if current and len(current) + len(joiner) + len(piece) > size:
            chunks.append(current)
            current = ""
        current = f"{current}{joiner}{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _pieces(text: str, size: int) -> list[tuple[str, bool]]:
    """Paragraphs, those too long cut into sentences, and those into words.

    Each piece comes with whether it starts a paragraph.
    """
    pieces: list[tuple[str, bool]] = []
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        if len(paragraph) <= size:
            pieces.append((paragraph, True))
            continue
        parts = [
            part
            for sentence in _SENTENCE_END.split(paragraph)
            for part in (_words(sentence, size) if len(sentence) > size else [sentence])
        ]
        pieces.extend((part, i == 0) for i, part in enumerate(parts))
    return pieces


def _words(sentence: str, size: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for whole in sentence.split():
        word = whole[:size]
        if current and len(current) + 1 + len(word) > size:
            parts.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    if current:
        parts.append(current)
    return parts
