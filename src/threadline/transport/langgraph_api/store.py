"""`/store`: items a user keeps, in namespaces of their own (`chat/user_store`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT, HTTP_404_NOT_FOUND

from threadline.chat.langgraph_api.user_store import StoredItem, UserStore
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.rest import ApiError
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("StoreController",)

Label = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Namespace = Annotated[list[Label], msgspec.Meta(max_length=20)]
# Any text but NUL, which PostgreSQL does not keep.
_KEY_PATTERN = r"^[^\x00]{1,1024}$(?!\n)"
Key = Annotated[str, msgspec.Meta(pattern=_KEY_PATTERN)]


class ItemPut(msgspec.Struct, kw_only=True):
    """`PUT /store/items`: keep a value (TTLs and indexing are not supported: ignored)."""

    namespace: Namespace
    key: Key
    value: dict[str, Any]
    index: Any = None
    ttl: float | None = None


class ItemRef(msgspec.Struct, kw_only=True):
    """`DELETE /store/items`: which item."""

    namespace: Namespace
    key: Key


class ItemSearch(msgspec.Struct, kw_only=True):
    """`POST /store/items/search`: by namespace prefix and exact values (no `query`)."""

    namespace_prefix: Namespace = msgspec.field(default_factory=list)
    filter: dict[str, Any] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    offset: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    query: str | None = None
    refresh_ttl: bool | None = None


class NamespaceList(msgspec.Struct, kw_only=True):
    """`POST /store/namespaces`."""

    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    offset: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0


class Items(msgspec.Struct):
    """Items found."""

    items: list[StoredItem]


class Namespaces(msgspec.Struct):
    """Namespaces found, each a list of labels."""

    namespaces: list[list[str]]


def _store(state: State) -> UserStore:
    return services_of(state).user_store


class StoreController(Controller):
    """`/store`: each user's items, confined to their own namespaces."""

    path = "/store"
    tags = ["langgraph"]  # noqa: RUF012 - Litestar's declared attribute type
    dependencies = {"user": Provide(acting_user, sync_to_thread=False)}  # noqa: RUF012

    @put("/items", status_code=HTTP_204_NO_CONTENT)
    async def put_item(self, state: State, user: ActingUser, data: JSONBody[ItemPut]) -> None:
        """Keep `value` under `namespace` and `key`, replacing what was there."""
        await _store(state).put(user, data.namespace, data.key, data.value)

    @get("/items")
    async def get_item(
        self,
        state: State,
        user: ActingUser,
        key: Annotated[str, QueryParameter(pattern=_KEY_PATTERN)],
        namespace: Annotated[str, QueryParameter(max_length=4096)] = "",
    ) -> StoredItem:
        """The item under `namespace` (labels joined by `.`) and `key`."""
        labels = namespace.split(".") if namespace else []
        item = await _store(state).get(user, labels, key)
        if item is None:
            raise ApiError(HTTP_404_NOT_FOUND, "item_not_found", "Item not found")
        return item

    @delete("/items", status_code=HTTP_204_NO_CONTENT)
    async def delete_item(self, state: State, user: ActingUser, data: JSONBody[ItemRef]) -> None:
        """Delete the item, if there is one (another user's is never there)."""
        await _store(state).delete(user, data.namespace, data.key)

    @post("/items/search", status_code=HTTP_200_OK)
    async def search_items(
        self, state: State, user: ActingUser, data: JSONBody[ItemSearch]
    ) -> Items:
        """The user's items under a namespace prefix whose values match `filter`."""
        if data.query:
            detail = "query: searching the store by meaning is not supported by this server"
            raise ApiError(422, "not_supported", detail, "query")
        found = await _store(state).search(
            user, data.namespace_prefix, filter_by=data.filter, limit=data.limit, offset=data.offset
        )
        return Items(found)

    @post("/namespaces", status_code=HTTP_200_OK)
    async def list_namespaces(
        self, state: State, user: ActingUser, data: JSONBody[NamespaceList]
    ) -> Namespaces:
        """The user's namespaces, as they named them."""
        found = await _store(state).namespaces(
            user,
            data.prefix or [],
            data.suffix,
            max_depth=data.max_depth,
            limit=data.limit,
            offset=data.offset,
        )
        return Namespaces(found)
