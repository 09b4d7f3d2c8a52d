"""The LangGraph API's store, one user at a time, over LangGraph's `AsyncPostgresStore`.

A user's namespace `("notes", "garden")` is kept as `("users", <user>, "store", "notes",
"garden")`: under the user's own root, beside (never inside) Threadline's own kinds
(`conversations`, `memories`), so no namespace a client names can reach them or another
user's. Results show the namespace as the client named it. Another user's items are
simply not there: nothing is refused in a way that tells they exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from langgraph.store.base import BaseStore, InvalidNamespaceError, Item, PutOp

from threadline.storage.namespaces import user_namespace

__all__ = ("InvalidStoreRequest", "StoredItem", "UserStore")

MAX_DEPTH = 20  # labels in a namespace a client names
_ERASED_AT_ONCE = 500


class InvalidStoreRequest(ValueError):
    """A namespace the store cannot keep, or a filter it cannot apply; the text says which."""


# What a filter's value may ask besides equality (a dict of these), as the store knows them.
_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


class StoredItem(msgspec.Struct, kw_only=True):
    """An item as the LangGraph server shows it."""

    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    score: float | None = None


def _root(user_id: str) -> tuple[str, ...]:
    return user_namespace(user_id, "store")


def _inside(user_id: str, namespace: list[str], *, empty: bool = False) -> tuple[str, ...]:
    if not namespace and not empty:
        raise InvalidStoreRequest("namespace: it must name at least one label")
    if len(namespace) > MAX_DEPTH:
        raise InvalidStoreRequest(f"namespace: at most {MAX_DEPTH} labels")
    for label in namespace:
        if not label or "." in label or "\x00" in label:
            raise InvalidStoreRequest("namespace: labels must be non-empty, without `.`")
    return (*_root(user_id), *namespace)


class UserStore:
    """Items each user keeps through the LangGraph API, confined to their namespaces."""

    def __init__(self, store: BaseStore) -> None:
        self._store = store

    def _shown(self, user_id: str, item: Item) -> StoredItem:
        return StoredItem(
            namespace=list(item.namespace[len(_root(user_id)) :]),
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
            score=getattr(item, "score", None),
        )

    async def put(
        self, user_id: str, namespace: list[str], key: str, value: dict[str, Any]
    ) -> None:
        """Keep `value` under `namespace` and `key` (replacing what was there)."""
        try:
            await self._store.aput(_inside(user_id, namespace), key, value, index=False)
        except InvalidNamespaceError as error:
            raise InvalidStoreRequest(f"namespace: {error}") from None

    async def get(self, user_id: str, namespace: list[str], key: str) -> StoredItem | None:
        """The item, or None if the user keeps none there."""
        item = await self._store.aget(_inside(user_id, namespace), key)
        return None if item is None else self._shown(user_id, item)

    async def delete(self, user_id: str, namespace: list[str], key: str) -> None:
        """Delete the item, if the user keeps one there."""
        await self._store.adelete(_inside(user_id, namespace), key)

    async def search(
        self,
        user_id: str,
        prefix: list[str],
        *,
        filter_by: dict[str, Any] | None,
        limit: int,
        offset: int,
    ) -> list[StoredItem]:
        """The user's items under `prefix` whose values match `filter_by`."""
        for condition in (filter_by or {}).values():
            if isinstance(condition, dict) and not condition.keys() <= _OPERATORS:
                detail = f"filter: the operators are {', '.join(sorted(_OPERATORS))}"
                raise InvalidStoreRequest(detail)
        found = await self._store.asearch(
            _inside(user_id, prefix, empty=True), filter=filter_by, limit=limit, offset=offset
        )
        return [self._shown(user_id, item) for item in found]

    async def namespaces(  # noqa: PLR0913 - the listing's terms, each named
        self,
        user_id: str,
        prefix: list[str],
        suffix: list[str] | None,
        *,
        max_depth: int | None,
        limit: int,
        offset: int,
    ) -> list[list[str]]:
        """The user's namespaces under `prefix` (ending with `suffix`), as they named them."""
        root = _root(user_id)
        depth = None if max_depth is None else len(root) + max_depth
        found = await self._store.alist_namespaces(
            prefix=_inside(user_id, prefix, empty=True),
            suffix=tuple(suffix) if suffix else None,
            max_depth=depth,
            limit=limit,
            offset=offset,
        )
        return [list(namespace[len(root) :]) for namespace in found]

    async def erase(self, user_id: str) -> int:
        """Delete every item `user_id` keeps; returns how many there were."""
        erased = 0
        while found := await self._store.asearch(_root(user_id), limit=_ERASED_AT_ONCE):
            await self._store.abatch([PutOp(item.namespace, item.key, None) for item in found])
            erased += len(found)
        return erased
