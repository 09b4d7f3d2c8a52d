"""The base of every refusal the services raise: a stable `code` and a `detail` for humans.

The chat service's (`chat.errors.ChatError`), the knowledge service's
(`knowledge.errors.KnowledgeError`) and the shares' (`SharingError`) derive from it; the
edges translate each into their own answer (a frame, an HTTP status).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ("DomainError",)


class DomainError(Exception):
    """A request a service will not carry out as asked; `detail` is for humans."""

    code: ClassVar[str]
    default_detail: ClassVar[str] = ""

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)
