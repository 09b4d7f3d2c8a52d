"""The caller a credential proves, and the refusal when it proves nothing."""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

__all__ = ("TRUSTED", "USER_ID_PATTERN", "Principal", "Unauthenticated", "is_user_id")

# `|` is in it for identity providers such as Auth0, whose subjects read `auth0|5f7c…`.
# Python's `$` also matches before a final newline (`alice\n` would pass as another user),
# so every id pattern ends `$(?!\n)`: the whole string, in Python (msgspec, Litestar) and
# in JavaScript alike (the OpenAPI document), where `\Z` means something else.
USER_ID_PATTERN = r"^[A-Za-z0-9_.@:|-]{1,128}$(?!\n)"
_USER_ID = re.compile(USER_ID_PATTERN)


def is_user_id(value: object) -> bool:
    """Whether `value` is a string Threadline accepts as a user id."""
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


Via = Literal["none", "api_key", "jwt", "ticket"]


class Unauthenticated(Exception):
    """No usable credential: missing, malformed, forged, expired or revoked.

    The detail is safe to show: it names what was wrong, never the credential.
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Principal(NamedTuple):
    """Who a request acts as.

    Attributes:
        user_id: The user the credential belongs to; None for an admin key.
        admin: May act for any user (a gateway) and call admin endpoints.
        expires_at: When the credential stops being valid (Unix time), if it does.
        via: How the caller proved who it is.
        key_id: The API key it proved it with (also through a ticket bought with one), so
            that revoking the key ends what it opened.
    """

    user_id: str | None
    admin: bool = False
    expires_at: float | None = None
    via: Via = "none"
    key_id: str | None = None

    def may_act_for(self, user_id: str) -> bool:
        """Whether this caller may read and write `user_id`'s data."""
        return self.admin or self.user_id == user_id


# AUTH_MODE=none: the path's user is trusted, as a gateway in front would be.
TRUSTED = Principal(user_id=None, admin=True, via="none")
