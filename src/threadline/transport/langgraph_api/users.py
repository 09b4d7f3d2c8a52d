"""Whom a LangGraph API request acts for: these routes name no user in their path.

The user is the credential's (`Authorization: Bearer` or `X-Api-Key`, as the SDKs send
them). With AUTH_MODE=none it is the user named by `X-Threadline-User`, and `local` when
there is none (the page and `/ws/local` see the same threads as a client with no
headers); an admin key (a gateway) names the user it acts for in that header too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_422_UNPROCESSABLE_ENTITY

from threadline.identity.principal import Principal, is_user_id
from threadline.transport.access import principal_of
from threadline.transport.rest import ApiError

__all__ = ("LOCAL_USER", "USER_HEADER", "ActingUser", "acting_user", "seat_user")

USER_HEADER = "x-threadline-user"
LOCAL_USER = "local"

# A handler's `user` parameter: the user `acting_user` found.
ActingUser = NamedDependency[str]


def acting_user(request: Request[Any, Any, Any]) -> str:
    """The user the request acts for (a dependency of every LangGraph API route).

    Raises:
        ApiError: The header names no valid user id (422), or a user's credential names
            another user in it, or an admin key names none (403).
    """
    return _user_of(principal_of(request.scope), request.headers.get(USER_HEADER))


def seat_user(principal: Principal, headers: Mapping[str, str]) -> str | None:
    """Whose socket seat a LangGraph API socket takes (the route's `seat_user` opt).

    None when the request names no valid user: the handler refuses it then.
    """
    try:
        return _user_of(principal, headers.get(USER_HEADER))
    except ApiError:
        return None


def _user_of(principal: Principal, named: str | None) -> str:
    if named is not None and not is_user_id(named):
        detail = f"{USER_HEADER}: 1-128 letters, digits and _ . @ : | -"
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail, USER_HEADER)
    if principal.user_id is not None:
        if named is not None and named != principal.user_id:
            detail = "this credential may not act for this user"
            raise ApiError(HTTP_403_FORBIDDEN, "forbidden", detail)
        return principal.user_id
    if named is not None:
        return named
    if principal.via == "none":
        return LOCAL_USER
    detail = f"an admin key names the user it acts for in the {USER_HEADER} header"
    raise ApiError(HTTP_403_FORBIDDEN, "forbidden", detail)
