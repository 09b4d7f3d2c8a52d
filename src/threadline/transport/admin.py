"""Admin endpoints, for an admin API key only: a gateway provisions its users' keys here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from threadline.identity.keys import ApiKey
from threadline.identity.principal import USER_ID_PATTERN
from threadline.transport.rest import ApiError
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("ApiKeysController", "CreatedKey", "KeyRequest")


class KeyRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A key to create: for one user (`user_id`), or an admin key (`admin: true`)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    user_id: Annotated[str, msgspec.Meta(pattern=USER_ID_PATTERN)] | None = None
    admin: bool = False


class CreatedKey(ApiKey, kw_only=True):
    """A key just created: `key` is shown this once, and only its hash is stored."""

    key: str


class ApiKeysController(Controller):
    """`/admin/api-keys`: create, list and revoke API keys."""

    path = "/admin/api-keys"
    tags = ["admin"]  # noqa: RUF012 - Litestar's declared attribute type
    opt = {"admin": True}  # noqa: RUF012 - checked by the access middleware

    @post("/")
    async def create_api_key(self, state: State, data: JSONBody[KeyRequest]) -> CreatedKey:
        """Create a key; the response is the only time the key is shown."""
        if data.admin == (data.user_id is not None):
            detail = "user_id: give a user_id, or admin: true, not both"
            raise ApiError(400, "invalid_request", detail, "user_id")
        keys = services_of(state).identity.keys
        new = await keys.create(data.name, user_id=data.user_id, admin=data.admin)
        return CreatedKey(key=new.key, **msgspec.structs.asdict(new.info))

    @get("/")
    async def list_api_keys(self, state: State) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first (never the keys themselves)."""
        return await services_of(state).identity.keys.list()

    @delete("/{key_id:str}")
    async def revoke_api_key(self, state: State, key_id: FromPath[str]) -> None:
        """Revoke a key at once, on every server."""
        if not await services_of(state).identity.keys.revoke(key_id):
            raise NotFoundException
