"""Text out of an uploaded file: plain text, Markdown, HTML or PDF, within bounds.

Untrusted files can cost far more to read than they weigh (a 70 KB PDF can inflate to
gigabytes of page content), so reading is bounded in what it inflates, in pages and in the
text it gives. It is blocking CPU work: the server runs it in a reader process of its own
(`knowledge/reader.py`), which bounds its time and memory too.
"""

from __future__ import annotations

import io
import logging
from html.parser import HTMLParser
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import msgspec

from threadline.knowledge.chunking import CHUNK_CHARS, MAX_CHUNKS
from threadline.storage.text import storable

if TYPE_CHECKING:
    from pypdf import PdfReader

__all__ = ("KINDS", "Bounds", "UnreadableDocument", "extract_text", "kind_of")

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


class Bounds(msgspec.Struct, frozen=True, kw_only=True):
    """How much reading one document may take."""

    # Bytes a PDF's page content may inflate to, all pages together (a page showing a
    # stream another page shows counts it again: it is parsed again).
    max_decompressed: int = 16 * 1024 * 1024
    max_pages: int = 2000
    # Text past what fits in a document's passages is refused while it is read.
    max_chars: int = MAX_CHUNKS * CHUNK_CHARS


class UnreadableDocument(ValueError):
    """The file's content cannot be read as its kind says; the message says why."""


class _TooLong(Exception):
    """Raised from inside pypdf's extraction to stop it once the text is too long."""


def kind_of(filename: str, media_type: str | None) -> str | None:
    """The document's media type, or None if it is not a kind Threadline reads."""
    by_name = KINDS.get(PurePath(filename).suffix.lower())
    if by_name is not None:
        return by_name
    declared = (media_type or "").split(";")[0].strip().lower()
    return declared if declared in _MEDIA_TYPES else None


def extract_text(content: bytes, media_type: str, bounds: Bounds | None = None) -> str:
    """The document's text, whitespace tidied.

    Raises:
        UnreadableDocument: Not valid for its kind, no text in it, or past a bound.
    """
    bounds = bounds or Bounds()
    if media_type == "application/pdf":
        text = _pdf_text(content, bounds)
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
    if len(tidy) > bounds.max_chars:
        raise UnreadableDocument(_too_long(bounds))
    return tidy


def _too_long(bounds: Bounds) -> str:
    return f"the document is too long (more than {bounds.max_chars} characters of text)"


def _decoded(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        msg = "the file is not UTF-8 text"
        raise UnreadableDocument(msg) from None


def _pdf_text(content: bytes, bounds: Bounds) -> str:
    from pypdf import apply_configuration  # noqa: PLC0415 - only documents that are PDFs need it

    if not content.startswith(b"%PDF-"):
        msg = "the file is not a PDF"
        raise UnreadableDocument(msg)
    inflated = bounds.max_decompressed
    try:
        with apply_configuration(
            zlib_maximum_output_length=inflated,
            lzw_maximum_output_length=inflated,
            run_length_maximum_output_length=inflated,
            brotli_maximum_output_length=inflated,
            jbig2_maximum_output_length=inflated,
        ):
            return _pages_text(content, bounds)
    except UnreadableDocument:
        raise
    except _TooLong:
        raise UnreadableDocument(_too_long(bounds)) from None
    except RecursionError:
        msg = "the PDF nests too deeply to read"
        raise UnreadableDocument(msg) from None
    except MemoryError:
        raise  # the reader process says so, and makes way for a fresh one
    except Exception as error:  # noqa: BLE001 - whatever a malformed file makes pypdf raise
        msg = f"the PDF cannot be read ({type(error).__name__})"
        raise UnreadableDocument(msg) from None


def _pages_text(content: bytes, bounds: Bounds) -> str:
    from pypdf import PdfReader  # noqa: PLC0415

    reader = PdfReader(io.BytesIO(content))
    if reader.is_encrypted:
        msg = "the PDF is encrypted"
        raise UnreadableDocument(msg)
    if (pages := len(reader.pages)) > bounds.max_pages:
        msg = f"the PDF has too many pages ({pages}, at most {bounds.max_pages})"
        raise UnreadableDocument(msg)
    _check_inflated(reader, bounds.max_decompressed)
    chars = 0

    def count(text: str, *_: Any) -> None:
        nonlocal chars
        chars += len(text)
        stop()

    def stop(*_: Any) -> None:
        # Also before every operation: pypdf swallows what a form XObject's text raises.
        if chars > bounds.max_chars:
            raise _TooLong

    return "\n\n".join(
        page.extract_text(visitor_text=count, visitor_operand_before=stop) or ""
        for page in reader.pages
    )


def _check_inflated(reader: PdfReader, bound: int) -> None:
    """Refuse a PDF whose pages' content inflates past `bound`, before any is parsed."""
    from pypdf.errors import LimitReachedError  # noqa: PLC0415

    msg = f"the PDF inflates past {bound} bytes"
    total = 0
    for page in reader.pages:
        try:  # one stream inflating past the bound stops where it reaches it
            contents = page.get_contents()
            total += len(contents.get_data()) if contents is not None else 0
        except LimitReachedError:
            raise UnreadableDocument(msg) from None
        if total > bound:
            raise UnreadableDocument(msg)


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
