"""LangGraph's own checkpointer conformance suite, run against the saver Threadline uses.

Once as LangGraph drives any saver, and once with every call made inside a turn as the
server runs one: the conversation's lease taken by a statement that also reads the
thread's latest checkpoint, and the mirror trusted on what that statement saw. There,
the suite's reads of a thread this saver wrote come from the mirror.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.conformance.initializer import RegisteredCheckpointer
from langgraph.checkpoint.conformance.validate import validate

from threadline.settings import Settings
from threadline.storage.checkpoints.mirror import Mirror
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import Pool, open_pool
from threadline.storage.leases import ConversationLocks

pytestmark = pytest.mark.anyio

T = TypeVar("T")


class _InTurns(PooledPostgresSaver):
    """The saver, each call of which runs in a turn of its thread, as the server runs one."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self._locks = ConversationLocks(pool)

    async def _in_turn(self, config: RunnableConfig, call: Callable[[], Awaitable[T]]) -> T:
        thread = config["configurable"]["thread_id"]
        if Mirror.trusted(thread):  # a call the saver makes on itself
            return await call()
        async with self._locks.hold(thread) as lease:
            with self.trusting(thread, lease.observed):
                return await call()

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._in_turn(config, lambda: super(_InTurns, self).aget_tuple(config))

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        put = super().aput
        return await self._in_turn(config, lambda: put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        put = super().aput_writes
        await self._in_turn(config, lambda: put(config, writes, task_id, task_path))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        read = super().aget_delta_channel_history
        return await self._in_turn(config, lambda: read(config=config, channels=channels))

    async def adelete_thread(self, thread_id: str) -> None:
        delete = super().adelete_thread
        await self._in_turn({"configurable": {"thread_id": thread_id}}, lambda: delete(thread_id))


async def _conforms(settings: Settings, make: Callable[[Pool], BaseCheckpointSaver[Any]]) -> None:
    """Run the whole suite on savers made by `make`; every test it runs must pass."""
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:

        async def factory() -> AsyncGenerator[BaseCheckpointSaver[Any], None]:
            yield make(pool)

        report = await validate(RegisteredCheckpointer(name=make.__name__, factory=factory))

    failures = {name: r.failures for name, r in report.results.items() if r.passed is False}
    assert failures == {}
    ran = {name for name, r in report.results.items() if r.passed}
    assert {"put", "put_writes", "get_tuple", "list", "delete_thread"} <= ran


async def test_the_saver_passes_langgraphs_conformance_suite(settings: Settings) -> None:
    await _conforms(settings, PooledPostgresSaver)


async def test_the_saver_passes_it_with_each_call_in_a_trusted_turn(settings: Settings) -> None:
    await _conforms(settings, _InTurns)
