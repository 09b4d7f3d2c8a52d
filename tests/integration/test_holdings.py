"""What a user keeps, as each process remembers it (`knowledge/holdings.py`), on a real
PostgreSQL: a change whose notice never arrived is seen once the answer is old enough."""

from __future__ import annotations

import anyio
import pytest
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.knowledge.holdings import HoldingsCache
from threadline.settings import Settings
from threadline.storage.database import open_pool
from threadline.storage.namespaces import user_namespace

pytestmark = pytest.mark.anyio


async def test_a_memory_saved_elsewhere_whose_notice_was_lost_is_seen_in_time(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        here = HoldingsCache(pool, ttl=0.2)
        before = await here.of("u1")
        # Saved through another process, whose `Changed` bulletin never reached this one.
        await AsyncPostgresStore(pool).aput(user_namespace("u1", "memories"), "m1", {"t": "x"})
        still = await here.of("u1")  # remembered: no query
        await anyio.sleep(0.3)
        after = await here.of("u1")

    assert (before.memories, still.memories, after.memories) == (False, False, True)
