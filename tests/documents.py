"""Uploading documents in tests: files of each kind, and waiting until they are indexed."""

from __future__ import annotations

import zlib
from typing import Any

import httpx

from tests.polling import eventually


def pdf_with(*lines: str) -> bytes:
    """A one-page PDF whose text is `lines`, built by hand (offsets and all)."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    return pdf_of(f"BT /F1 12 Tf 72 720 Td {text} ET".encode())


BOMB_WORDS = "The quick brown fox jumps over the lazy dog. "


def pdf_bomb(megabytes: float, pages: int = 8) -> bytes:
    """A small PDF whose `pages` share one FlateDecode stream inflating to `megabytes` MB.

    Of text mostly, in long strings: few operations, so no bound on those stops it.
    """
    line = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET\n" % (BOMB_WORDS * 22).encode()
    return pdf_of(line * int(megabytes * 1_000_000 // len(line)), pages=pages, deflate=True)


def pdf_drawing_bomb(megabytes: float, pages: int = 8) -> bytes:
    """Like `pdf_bomb`, but of drawing operations: slow to parse, with next to no text."""
    stream = b"BT /F1 12 Tf 72 720 Td (Hi) Tj ET\n" + b"0 0 m\n" * int(megabytes * 1_000_000 / 6)
    return pdf_of(stream, pages=pages, deflate=True)


def pdf_nested(depth: int) -> bytes:
    """A one-page PDF whose content stream nests `depth` arrays in one another."""
    return pdf_of(b"BT " + b"[" * depth + b"]" * depth + b" TJ ET")


def pdf_of(stream: bytes, pages: int = 1, *, deflate: bool = False) -> bytes:
    """A PDF of `pages` pages that all show the content `stream`."""
    body = zlib.compress(stream, 6) if deflate else stream
    kids = b" ".join(b"%d 0 R" % (3 + page) for page in range(pages))
    font, contents = 3 + pages, 4 + pages
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, contents)
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        *[page] * pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< %s/Length %d >>\nstream\n" % (b"/Filter /FlateDecode " if deflate else b"", len(body))
        + body
        + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body_of in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body_of + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


async def upload(
    http: httpx.AsyncClient,
    path: str,
    name: str,
    content: bytes,
    media_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `content` as the multipart field `file` named `name`."""
    return await http.post(path, files={"file": (name, content, media_type)}, headers=headers)


async def indexed(
    http: httpx.AsyncClient,
    path: str,
    headers: dict[str, str] | None = None,
    within: float = 20,
) -> dict[str, Any]:
    """The document at `path` once it is no longer `indexing`."""
    found: dict[str, Any] = {}

    async def done() -> bool:
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        found.update(response.json())
        return bool(found["status"] != "indexing")

    await eventually(done, within=within)
    return found
