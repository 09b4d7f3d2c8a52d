"""A turn loads the checkpoint its server wrote last from memory: exactly what is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.store.postgres.aio import AsyncPostgresStore

from tests.models import EchoModel
from threadline.chat.events import ApprovalRequired, Event, Failed, Replied
from threadline.chat.service import ChatService
from threadline.chat.turns.turn import Decision
from threadline.llm.offline import OfflineChatModel
from threadline.settings import Settings
from threadline.storage.checkpoints.channel import MESSAGES_CHANNEL
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import Pool, open_pool
from threadline.storage.leases import ConversationLocks
from threadline.wiring import build_chat_service

pytestmark = pytest.mark.anyio


class _Broken(BaseChatModel):
    """A model whose every call fails: the turn stores its message, then errs."""

    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise RuntimeError("the model is down")


class _Server:
    """One Threadline chat service over the shared pool, as one server would run it."""

    def __init__(self, settings: Settings, pool: Pool, model: BaseChatModel) -> None:
        self.saver = PooledPostgresSaver(pool)
        store = AsyncPostgresStore(pool)
        self.chat: ChatService = build_chat_service(settings, model, self.saver, store, pool)

    async def say(
        self,
        text: str | Decision | None,
        conversation_id: str | None = None,
        cmid: str | None = None,
    ) -> Event:
        """Send a message (None: regenerate; a decision) and wait for the turn's last frame."""
        done: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

        async def listen(frame: Event) -> None:
            ended = isinstance(frame, Replied | Failed | ApprovalRequired)
            if ended and not done.done():
                done.set_result(frame)

        if isinstance(text, Decision):
            assert conversation_id is not None
            await self.chat.decide("alice", conversation_id, text, listen)
        elif text is None:  # regenerate
            assert conversation_id is not None
            await self.chat.regenerate("alice", conversation_id, listen)
        else:
            await self.chat.send_message("alice", text, conversation_id, cmid, listen)
        async with asyncio.timeout(10):
            return await done

    async def start(self, text: str) -> str:
        """Start a conversation with `text`; its id."""
        reply = await self.say(text)
        assert isinstance(reply, Replied)
        return reply.conversation_id


@asynccontextmanager
async def _pool(settings: Settings) -> AsyncIterator[Pool]:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        yield pool


@asynccontextmanager
async def _turn_of(saver: PooledPostgresSaver, pool: Pool, thread: str) -> AsyncIterator[None]:
    """What a turn of `thread` holds on the server of `saver`: the lease, and the trust."""
    async with ConversationLocks(pool).hold(thread) as lease:
        with saver.trusting(thread, lease.observed):
            yield


async def _loaded(saver: PooledPostgresSaver, thread: str) -> tuple[Any, Any]:
    """The latest checkpoint of `thread` as `saver` loads it, and its messages' history."""
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    latest = await saver.aget_tuple(config)
    assert latest is not None
    history = await saver.aget_delta_channel_history(
        config=latest.config, channels=[MESSAGES_CHANNEL]
    )
    return latest, history


def _messages(history: Any) -> Iterator[tuple[str, AnyMessage]]:
    for task_id, _, value in history[MESSAGES_CHANNEL]["writes"]:
        for message in value if isinstance(value, list) else [value]:
            yield task_id, message


async def _same_as_elsewhere(here: _Server, pool: Pool, thread: str) -> Any:
    """Check a turn here loads what another server reads; the window's seed, if any."""
    async with _turn_of(here.saver, pool, thread):
        mine = await _loaded(here.saver, thread)
    theirs = await _loaded(PooledPostgresSaver(pool), thread)
    assert mine[0].checkpoint == theirs[0].checkpoint
    assert mine[0].metadata == theirs[0].metadata
    assert mine[0].parent_config == theirs[0].parent_config
    assert mine[0].pending_writes == theirs[0].pending_writes
    assert list(_messages(mine[1])) == list(_messages(theirs[1]))
    seed = theirs[1][MESSAGES_CHANNEL].get("seed")
    assert mine[1][MESSAGES_CHANNEL].get("seed") == seed
    return seed


async def test_every_turn_loads_exactly_what_another_server_would_read(
    settings: Settings,
) -> None:
    async with _pool(settings) as pool:
        here = _Server(settings, pool, EchoModel())
        thread = await here.start("turn 0")
        compared, seeded = 0, False
        # Across a snapshot of the window (every 200 writes), with clients' message ids
        # and regenerates on the way.
        for n in range(1, 106):
            cmid = f"m{n}" if n % 3 == 0 else None
            reply = await here.say(None if n % 10 == 0 else f"turn {n}", thread, cmid)
            assert isinstance(reply, Replied)
            seed = await _same_as_elsewhere(here, pool, thread)
            compared, seeded = compared + 1, seeded or seed is not None
    assert compared == 105
    assert seeded  # the later turns replayed from a snapshot


async def test_a_run_paused_for_an_approval_and_resumed_loads_what_is_stored(
    settings: Settings,
) -> None:
    # The pause is a write on the new checkpoint, stored beside it: its row may come back
    # with the write or without it.
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with _pool(settings) as pool:
        here = _Server(approving, pool, OfflineChatModel())
        thread = await here.start("hello")
        for n in range(3):
            paused = await here.say(f"what is {n} + 2?", thread)
            assert isinstance(paused, ApprovalRequired)
            await _same_as_elsewhere(here, pool, thread)
            decided = await here.say(Decision(paused.tool_call_id, n != 1), thread)
            assert isinstance(decided, Replied)
            await _same_as_elsewhere(here, pool, thread)


async def test_a_turn_loads_the_thread_its_server_wrote_without_a_query(
    settings: Settings,
) -> None:
    async with _pool(settings) as pool:
        here = _Server(settings, pool, EchoModel())
        thread = await here.start("one")
        await here.say("two", thread)
        await here.say("three", thread)
        async with _turn_of(here.saver, pool, thread), pool.connection() as conn:
            # Behind the saver's back, the thread's rows go for a moment: a load that
            # queried would find nothing.
            await conn.execute("CREATE TEMP TABLE kept AS SELECT * FROM checkpoint_writes")
            await conn.execute("CREATE TEMP TABLE kept_cp AS SELECT * FROM checkpoints")
            await conn.execute("DELETE FROM checkpoint_writes")
            await conn.execute("DELETE FROM checkpoints")
            latest, history = await _loaded(here.saver, thread)
            gone = await PooledPostgresSaver(pool).aget_tuple(
                {"configurable": {"thread_id": thread}}
            )
            await conn.execute("INSERT INTO checkpoints SELECT * FROM kept_cp")
            await conn.execute("INSERT INTO checkpoint_writes SELECT * FROM kept")

    assert gone is None
    seeded = history[MESSAGES_CHANNEL]["seed"].value  # the first message starts a thread
    said = [m.text for m in seeded] + [m.text for _, m in _messages(history) if m.type == "human"]
    assert said == ["one", "two", "three"]
    assert latest.pending_writes == []


async def test_a_turn_run_by_another_server_in_between_is_seen(settings: Settings) -> None:
    model = EchoModel()
    async with _pool(settings) as pool:
        here, there = _Server(settings, pool, model), _Server(settings, pool, model)
        thread = await here.start("here, first")
        await there.say("there, in between", thread)
        await here.say("here, after", thread)

    sent = [m.text for m in model.requests[-1] if m.type == "human"]
    assert sent == ["here, first", "there, in between", "here, after"]


async def test_a_message_stored_by_another_server_whose_turn_failed_is_kept(
    settings: Settings,
) -> None:
    model = EchoModel()
    async with _pool(settings) as pool:
        here, there = _Server(settings, pool, model), _Server(settings, pool, _Broken())
        thread = await here.start("here, first")
        failed = await there.say("there, unanswered", thread)
        assert isinstance(failed, Failed)
        await here.say("here, after", thread)

    sent = [m.text for m in model.requests[-1] if m.type == "human"]
    assert sent == ["here, first", "there, unanswered", "here, after"]
