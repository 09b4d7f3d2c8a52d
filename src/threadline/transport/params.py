"""Path parameters shared by the HTTP and WebSocket routes."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

from threadline.identity.principal import USER_ID_PATTERN

__all__ = ("CONVERSATION_ID_PATTERN", "USER_ID_PATTERN", "ConversationId", "UserId")

# `$(?!\n)`: the whole string, not before a final newline (see USER_ID_PATTERN).
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$(?!\n)"

UserId = Annotated[
    str,
    PathParameter(
        pattern=USER_ID_PATTERN,
        description="The user's id: 1-128 letters, digits and _ . @ : | -",
    ),
]
ConversationId = Annotated[
    str, PathParameter(pattern=CONVERSATION_ID_PATTERN, description="The conversation's id.")
]
