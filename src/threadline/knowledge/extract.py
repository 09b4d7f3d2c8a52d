"""Text out of an uploaded file: plain text, Markdown, HTML or PDF.

Blocking work (PDF parsing above all): call it in a worker thread.
"""

from __future__ import annotations

import io
import logging
from html.parser import HTMLParser
from pathlib import PurePath

from threadline.storage.text import storable

__all__ = ("KINDS", "UnreadableDocument", "extract_text", "kind_of")

logger = logging.getLogger(__name__)

# What a document is, by its file name's extension or else its declared media type.
KINDS: dict[str, str] = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
}
_MEDIA_TYPES = frozenset(KINDS.values())


class UnreadableDocument(ValueError):
    """The file's content cannot be read as its kind says; the message says why."""


def kind_of(filename: str, media_type: str | None) -> str | None:
    """The document's media type, or None if it is not a kind Threadline reads."""
    by_name = KINDS.get(PurePath(filename).suffix.lower())
    if by_name is not None:
        return by_name
    declared = (media_type or "").split(";")[0].strip().lower()
    return declared if declared in _MEDIA_TYPES else None


def extract_text(content: bytes, media_type: str) -> str:
    """The document's text, whitespace tidied.

    Raises:
        UnreadableDocument: Not valid for its kind, or no text in it.
    """
    if media_type == "application/pdf":
        text = _pdf_text(content)
    else:
        text = _decoded(content)
        if media_type == "text/html":
            text = _html_text(text)
    lines = (" ".join(storable(line).split()) for line in text.splitlines())
    tidy = "\n".join(lines).strip()
    while "\n\n\n" in tidy:
        tidy = tidy.replace("\n\n\n", "\n\n")
    if not tidy:
        msg = "the document has no text in it"
        raise UnreadableDocument(msg)
    return tidy


def _decoded(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        msg = "the file is not UTF-8 text"
        raise UnreadableDocument(msg) from None


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader  # noqa: PLC0415 - only documents that are PDFs need it
    from pypdf.errors import PyPdfError  # noqa: PLC0415

    if not content.startswith(b"%PDF-"):
        msg = "the file is not a PDF"
        raise UnreadableDocument(msg)
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            msg = "the PDF is encrypted"
            raise UnreadableDocument(msg)
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        if isinstance(error, UnreadableDocument):
            raise
        msg = f"the PDF cannot be read ({type(error).__name__})"
        raise UnreadableDocument(msg) from None


class _TextOfHtml(HTMLParser):
    """Collects a page's visible text; scripts, styles and markup are dropped, never run."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    _BREAKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)
