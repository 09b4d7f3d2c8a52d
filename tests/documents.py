"""Uploading documents in tests: files of each kind, and waiting until they are indexed."""

from __future__ import annotations

from typing import Any

import httpx

from tests.polling import eventually


def pdf_with(*lines: str) -> bytes:
    """A one-page PDF whose text is `lines`, built by hand (offsets and all)."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
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
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The document at `path` once it is no longer `indexing`."""
    found: dict[str, Any] = {}

    async def done() -> bool:
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        found.update(response.json())
        return bool(found["status"] != "indexing")

    await eventually(done, within=20)
    return found
