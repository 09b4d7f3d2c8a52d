"""What a page of history leaves out when an edge asks for its messages alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.app import build_chat_service
from threadline.chat.events import Event, Failed, Replied
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
        yield build_chat_service(
            settings, OfflineChatModel(), saver, AsyncPostgresStore(pool), pool
        )


async def test_a_page_without_feedback_has_the_same_messages_and_no_ratings(
    settings: Settings,
) -> None:
    async with _service(settings) as chat:
        ended: asyncio.Queue[Event] = asyncio.Queue()

        async def listener(event: Event) -> None:
            if isinstance(event, Replied | Failed):
                await ended.put(event)

        await chat.send_message("alice", "Hello", None, "m-1", listener)
        reply = await asyncio.wait_for(ended.get(), 10)
        assert isinstance(reply, Replied)
        conversation_id = reply.conversation_id
        assert conversation_id is not None
        await chat.feedback.give("alice", conversation_id, reply.message_id, "up", "")

        whole = await chat.conversations.history("alice", conversation_id, 10)
        bare = await chat.conversations.history(
            "alice", conversation_id, 10, feedback=False, interrupts=False
        )

    assert [m.message_id for m in bare.messages] == [m.message_id for m in whole.messages]
    assert [m.client_message_id for m in bare.messages] == ["m-1", None]
    assert whole.messages[-1].feedback is not None
    assert whole.messages[-1].feedback.rating == "up"
    assert all(m.feedback is None for m in bare.messages)
    assert bare.pending_interrupts == []
