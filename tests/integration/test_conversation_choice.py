"""What a conversation chose, kept in its index entry on a real PostgreSQL: its model and
the documents attached to it, changed for its owner only."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.conversations.index import Choice, ConversationIndex
from threadline.settings import Settings
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio


async def test_documents_attached_at_once_are_all_kept_each_once_in_order(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        index = ConversationIndex(AsyncPostgresStore(pool), pool)
        mine = await index.create("u1", Choice(assistant_id="agent", documents=("a",)))
        attached = await asyncio.gather(
            *(index.attach_documents("u1", mine, [f"d{n}", "a"]) for n in range(8))
        )
        kept = await index.choice_of("u1", mine)
    assert attached == [True] * 8
    assert kept is not None
    assert kept.assistant_id == "agent"
    assert kept.documents is not None
    assert kept.documents[0] == "a"
    assert sorted(kept.documents) == sorted(["a", *(f"d{n}" for n in range(8))])


async def test_another_users_conversation_is_left_alone(settings: Settings) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        index = ConversationIndex(AsyncPostgresStore(pool), pool, default_model="m0")
        mine = await index.create("u1")
        assert await index.attach_documents("u2", mine, ["x"]) is False
        assert await index.update_choice("u2", mine, {"model": "m1"}) is None
        summary = await index.update_choice("u1", mine, {"model": "m2"})
        kept = await index.choice_of("u1", mine)
    assert kept == Choice(model="m2")
    assert summary is not None
    assert summary.model == "m2"
