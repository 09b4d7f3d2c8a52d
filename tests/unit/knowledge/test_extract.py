"""Text out of uploads: by kind, with unreadable files refused with a reason."""

from __future__ import annotations

import pytest

from tests.documents import pdf_with
from threadline.knowledge.extract import UnreadableDocument, extract_text, kind_of


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
