"""The fork primitive below the socket: a turn whose message is added at any checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.app import build_chat_service
from threadline.chat.errors import ConversationNotFound
from threadline.chat.events import Event, Failed, Replied
from threadline.chat.service import ChatService
from threadline.llm.offline import OfflineChatModel
from threadline.settings import Settings
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[tuple[ChatService, PooledPostgresSaver]]:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        store = AsyncPostgresStore(pool)
        yield build_chat_service(settings, OfflineChatModel(), saver, store, pool), saver


async def test_a_turn_forked_from_an_earlier_checkpoint_is_the_current_path(
    settings: Settings,
) -> None:
    async with _service(settings) as (chat, saver):
        ended: asyncio.Queue[Event] = asyncio.Queue()

        async def listener(event: Event) -> None:
            if isinstance(event, Replied | Failed):
                await ended.put(event)

        await chat.send_message("alice", "first", None, None, listener)
        first = await asyncio.wait_for(ended.get(), 10)
        conversation_id = first.conversation_id
        assert conversation_id is not None
        after_first = await saver.aget_tuple({"configurable": {"thread_id": conversation_id}})
        assert after_first is not None
        await chat.send_message("alice", "second", conversation_id, None, listener)
        await asyncio.wait_for(ended.get(), 10)
        checkpoint = after_first.config["configurable"]["checkpoint_id"]

        await chat.fork("alice", conversation_id, checkpoint, "instead", listener)
        forked = await asyncio.wait_for(ended.get(), 10)
        history = await chat.conversations.history("alice", conversation_id, 100)
        await chat.fork("alice", conversation_id, "no-such-checkpoint", "x", listener)
        unknown = await asyncio.wait_for(ended.get(), 10)
        with pytest.raises(ConversationNotFound):
            await chat.fork("mallory", conversation_id, checkpoint, "x", listener)

    assert isinstance(forked, Replied)
    said = [(m.role, m.content) for m in history.messages]
    assert said[0] == ("user", "first")
    assert [role for role, _ in said] == ["user", "assistant", "user", "assistant"]
    assert said[2] == ("user", "instead")
    assert history.messages[2].branch is not None
    assert history.messages[2].branch.count == 2
    assert isinstance(unknown, Failed)
    assert unknown.code == "invalid_frame"
