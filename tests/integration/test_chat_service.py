"""The chat service below the socket: real storage and graph, listeners as plain functions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.app import build_chat_service
from threadline.chat.events import Event, Replied
from threadline.chat.service import ChatService
from threadline.llm.offline import OfflineChatModel
from threadline.settings import Settings
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import open_pool

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[ChatService]:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        saver = PooledPostgresSaver(pool)
        store = AsyncPostgresStore(pool)
        yield build_chat_service(settings, OfflineChatModel(), saver, store, pool)


async def test_a_reply_reaches_its_listener_only_once_the_conversation_is_free(
    settings: Settings,
) -> None:
    busy_when_replied: list[bool] = []
    replied = asyncio.Event()
    async with _service(settings) as chat:

        async def listener(frame: Event) -> None:
            # A client that answers the moment it sees the reply must find it free.
            if isinstance(frame, Replied):
                busy_when_replied.append(chat.busy(frame.conversation_id))
                replied.set()

        await chat.send_message("alice", "hi", None, None, listener)
        async with asyncio.timeout(10):
            await replied.wait()

    assert busy_when_replied == [False]
