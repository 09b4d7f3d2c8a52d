"""Text out of uploads: by kind, with unreadable files refused with a reason."""

from __future__ import annotations

import pytest

from tests.documents import BOMB_WORDS, pdf_bomb, pdf_nested, pdf_of, pdf_with
from threadline.knowledge.extract import Bounds, UnreadableDocument, extract_text, kind_of


def test_the_kind_comes_from_the_name_then_the_declared_type() -> None:
    assert kind_of("notes.MD", None) == "text/markdown"
    assert kind_of("report.pdf", "text/plain") == "application/pdf"
    assert kind_of("upload", "text/html; charset=utf-8") == "text/html"
    assert kind_of("tool.exe", "application/octet-stream") is None


def test_html_keeps_visible_text_and_drops_scripts_and_styles() -> None:
    page = b"<style>p{}</style><p>One &amp; two</p><script>alert(1)</script><div>Three</div>"
    assert extract_text(page, "text/html") == "One & two\n\nThree"


def test_a_pdf_gives_its_text() -> None:
    assert extract_text(pdf_with("Line one.", "Line two."), "application/pdf") == (
        "Line one.\nLine two."
    )


@pytest.mark.parametrize(
    ("content", "kind", "reason"),
    [
        (b"%PDF-1.4 broken", "application/pdf", "the PDF cannot be read"),
        (b"plain text", "application/pdf", "the file is not a PDF"),
        (b"\xff\xfe\x00bad", "text/plain", "the file is not UTF-8 text"),
        (b"   \n\n  ", "text/markdown", "the document has no text in it"),
        (b"<script>only()</script>", "text/html", "the document has no text in it"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(content: bytes, kind: str, reason: str) -> None:
    with pytest.raises(UnreadableDocument, match=reason):
        extract_text(content, kind)


def test_a_pdf_whose_pages_inflate_past_the_bound_is_refused_before_it_is_parsed() -> None:
    # Eight pages share one stream of 1 MB: 8 MB of content to parse, past 5 MB.
    with pytest.raises(UnreadableDocument, match=r"^the PDF inflates past 5000000 bytes$"):
        extract_text(pdf_bomb(1, pages=8), "application/pdf", Bounds(max_decompressed=5_000_000))
    text = extract_text(pdf_bomb(1, pages=1), "application/pdf", Bounds(max_decompressed=1_000_000))
    assert text.startswith(BOMB_WORDS)
    assert len(text) > 900_000


def test_a_single_stream_past_the_bound_is_not_inflated_whole() -> None:
    with pytest.raises(UnreadableDocument, match=r"^the PDF inflates past 1000000 bytes$"):
        extract_text(pdf_bomb(8, pages=1), "application/pdf", Bounds(max_decompressed=1_000_000))


def test_a_pdf_with_more_pages_than_the_bound_is_refused() -> None:
    many = pdf_of(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET", pages=11)
    with pytest.raises(
        UnreadableDocument, match=r"^the PDF has too many pages \(11, at most 10\)$"
    ):
        extract_text(many, "application/pdf", Bounds(max_pages=10))
    assert extract_text(many, "application/pdf", Bounds(max_pages=11)).count("Hello") == 11


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (pdf_of(b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % (b"Hello there. " * 9)), "application/pdf"),
        (b"Hello there. " * 9, "text/plain"),
        (b"<p>Hello there.</p>" * 9, "text/html"),
    ],
    ids=["pdf", "text", "html"],
)
def test_text_longer_than_the_bound_is_refused(content: bytes, kind: str) -> None:
    with pytest.raises(
        UnreadableDocument, match=r"^the document is too long \(more than 100 characters of text\)$"
    ):
        extract_text(content, kind, Bounds(max_chars=100))


def test_a_pdf_nested_too_deeply_is_refused_with_a_reason() -> None:
    with pytest.raises(UnreadableDocument, match=r"^the PDF nests too deeply to read$"):
        extract_text(pdf_nested(100_000), "application/pdf")
