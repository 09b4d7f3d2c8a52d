"""A message's images: data URLs checked for their type, their bytes and their base64."""

from __future__ import annotations

import base64

import pytest

from threadline.chat.turns.attachments import Attachments, Image, content_of, described, image_of

# The first bytes of each kind, as a decoder reads them.
STARTS = {
    "image/png": b"\x89PNG\r\n\x1a\n....",
    "image/jpeg": b"\xff\xd8\xff\xe0....",
    "image/gif": b"GIF89a....",
    "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
}


def _url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode()}"


@pytest.mark.parametrize("media_type", sorted(STARTS))
def test_each_accepted_type_is_read_with_its_decoded_size(media_type: str) -> None:
    url = _url(media_type, STARTS[media_type])

    assert image_of(url) == Image(url, media_type, len(STARTS[media_type]))


@pytest.mark.parametrize(
    "url",
    [
        _url("image/jpeg", STARTS["image/png"]),  # not what it says it is
        _url("image/webp", b"RIFF\x10\x00\x00\x00AVI LIST"),  # a RIFF, not a WebP
        _url("image/svg+xml", b"<svg/>"),
        _url("image/bmp", b"BM...."),
        "data:image/png;base64,iVBOR w0K",  # not base64
        "data:image/png;base64,iVBORw0K=x",
        "data:image/png," + "iVBORw0KGgo",  # not base64-encoded
        "data:text/plain;base64,aGk=",
        "https://example.com/cat.png",
        _url("image/png", STARTS["image/png"]) + "\n",
    ],
)
def test_anything_else_is_no_image(url: str) -> None:
    assert image_of(url) is None


def test_images_follow_the_text_as_blocks_and_history_describes_them() -> None:
    image = Image(_url("image/png", STARTS["image/png"]), "image/png", 12)
    attachments = Attachments((image,), (("d1", "report.pdf"),))

    assert content_of("look", ()) == "look"
    assert content_of("look", (image,)) == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": image.data_url}},
    ]
    assert described(attachments) == [
        {"type": "image", "media_type": "image/png", "size_bytes": 12},
        {"type": "document", "document_id": "d1", "title": "report.pdf"},
    ]
