"""What a message may carry besides its text: images for the model, documents to search.

An image is a data URL (PNG, JPEG, WebP or GIF, base64) that goes to the model as an image
content block of the user's message, kept in the thread like the text; a document is one
the user uploaded, which becomes the conversation's knowledge (its search looks there
first). History shows each as a small descriptor, never the image again.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, NamedTuple

import msgspec

from threadline.chat.errors import UnsupportedAttachment
from threadline.conversations.index import Choice
from threadline.knowledge.errors import DocumentNotFound
from threadline.knowledge.service import Knowledge

__all__ = (
    "MAX_DOCUMENTS",
    "AttachmentRequest",
    "Attachments",
    "Image",
    "attachments_of",
    "content_of",
    "described",
    "image_of",
    "with_documents",
)

# The most documents one conversation keeps as its own knowledge.
MAX_DOCUMENTS = 16

_DATA_URL = re.compile(r"data:(image/[a-z]+);base64,([A-Za-z0-9+/]*={0,2})")
# What each accepted type's bytes begin with: the declared type must be the real one.
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


class Image(NamedTuple):
    """One image of a message: its data URL as given, its type and decoded size."""

    data_url: str
    media_type: str
    size_bytes: int


class Attachments(NamedTuple):
    """A message's images and the documents it attaches (ids, with their titles)."""

    images: tuple[Image, ...] = ()
    documents: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.images or self.documents)


def image_of(data_url: str) -> Image | None:
    """The image a data URL holds; None if it is not a PNG, JPEG, WebP or GIF one.

    The size is bounded before this (the message's, `MAX_MESSAGE_BYTES`); the bytes must
    be valid base64 and begin as their declared type's do.
    """
    match = _DATA_URL.fullmatch(data_url)
    if match is None or match[1] not in _MAGIC:
        return None
    try:
        raw = base64.b64decode(match[2], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_MAGIC[match[1]]):
        return None
    if match[1] == "image/webp" and raw[8:12] != b"WEBP":
        return None
    return Image(data_url, match[1], len(raw))


def content_of(text: str, images: tuple[Image, ...]) -> str | list[str | dict[str, Any]]:
    """A user message's content: its text, and after it each image as a content block."""
    if not images:
        return text
    blocks: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
    blocks += [{"type": "image_url", "image_url": {"url": image.data_url}} for image in images]
    return blocks


def described(attachments: Attachments) -> list[dict[str, Any]]:
    """What history shows of a message's attachments: a descriptor each, no image data."""
    images = [
        {"type": "image", "media_type": image.media_type, "size_bytes": image.size_bytes}
        for image in attachments.images
    ]
    documents = [
        {"type": "document", "document_id": document_id, "title": title}
        for document_id, title in attachments.documents
    ]
    return images + documents


class AttachmentRequest(NamedTuple):
    """What a message asks to attach, as sent: images' data URLs, documents' ids."""

    images: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()


async def attachments_of(
    asked: AttachmentRequest | None, user_id: str, knowledge: Knowledge | None, *, sees: bool
) -> Attachments:
    """The attachments a message asks for, checked: images the model sees, the user's documents.

    Raises:
        UnsupportedAttachment: An image for a model without vision, or not a PNG, JPEG,
            WebP or GIF data URL; a document that is not the user's (or none at all),
            or one whose indexing failed.
    """
    if asked is None or not (asked.images or asked.documents):
        return Attachments()
    if asked.images and not sees:
        raise UnsupportedAttachment("this conversation's model does not take images")
    images = []
    for data_url in asked.images:
        image = image_of(data_url)
        if image is None:
            raise UnsupportedAttachment("an image must be a PNG, JPEG, WebP or GIF data URL")
        images.append(image)
    documents = []
    for document_id in dict.fromkeys(asked.documents):
        try:
            if knowledge is None:
                raise DocumentNotFound
            found = await knowledge.document(user_id, document_id)
        except DocumentNotFound:
            detail = f"no document {document_id!r} exists for this user"
            raise UnsupportedAttachment(detail) from None
        if found.status == "failed":  # it has no text to search; one still indexing will
            detail = f"document {document_id!r} failed to index ({found.reason}): upload it again"
            raise UnsupportedAttachment(detail)
        documents.append((document_id, found.title))
    return Attachments(tuple(images), tuple(documents))


def with_documents(chosen: Choice, attached: Attachments) -> Choice:
    """The conversation's choice with the documents the message attaches added.

    Raises:
        UnsupportedAttachment: The conversation would keep more than MAX_DOCUMENTS.
    """
    if not attached.documents:
        return chosen
    kept = list(chosen.documents or ())
    documents = tuple(dict.fromkeys([*kept, *(d for d, _ in attached.documents)]))
    if len(documents) > MAX_DOCUMENTS:
        detail = f"a conversation keeps at most {MAX_DOCUMENTS} documents"
        raise UnsupportedAttachment(detail)
    return msgspec.structs.replace(chosen, documents=documents)
