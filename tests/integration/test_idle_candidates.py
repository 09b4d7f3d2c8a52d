"""Which store rows the retention sweep takes for idle conversations, on a real PostgreSQL."""

from __future__ import annotations

import pytest
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.chat.langgraph_api.user_store import UserStore
from threadline.conversations.index import ConversationIndex
from threadline.settings import Settings
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio


async def test_a_store_item_under_a_namespace_ending_in_conversations_is_not_a_candidate(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        store = AsyncPostgresStore(pool)
        index = ConversationIndex(store, pool)
        mine = await index.create("ada")
        items = UserStore(store)
        await items.put("ada", ["conversations"], "k1", {"note": "mine"})
        await items.put("ada", ["notes", "conversations"], "k2", {"note": "mine"})
        candidates = await index.idle_since(0)
    assert candidates == [("ada", mine)]
