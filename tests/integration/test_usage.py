"""Reservations of the daily token quota on a real PostgreSQL: made at once from two pools
(two servers), only those that fit together pass."""

from __future__ import annotations

import asyncio

import pytest

from threadline.settings import Settings
from threadline.storage.database import open_pool
from threadline.storage.usage import UsageLedger, today

pytestmark = pytest.mark.anyio


async def test_reservations_made_at_once_by_two_servers_never_pass_the_quota(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    url, day = settings.database_url.get(), today()
    async with open_pool(url, settings) as one, open_pool(url, settings) as other:
        servers = [UsageLedger(one), UsageLedger(other)]
        attempts = [servers[n % 2].reserve("alice", day, 300, 1_000) for n in range(12)]
        passed = await asyncio.gather(*attempts)
        assert passed.count(True) == 3  # 900 of 1,000: a fourth would take it to 1,200
        assert (await servers[0].days("alice"))[0].tokens == 900
        assert await servers[1].reserve("alice", day, 100, 1_000)  # exactly what is left
        assert not await servers[0].reserve("alice", day, 1, 1_000)
        assert await servers[0].reserve("bob", day, 1_000, 1_000)  # each user's own


async def test_what_a_server_gave_back_counts_before_it_is_written(settings: Settings) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        usage = UsageLedger(pool, flush_every=3_600)  # written only when asked
        day = today()
        assert await usage.reserve("alice", day, 1_000, 1_000)
        usage.add("alice", 200 - 1_000, messages=1, day=day)  # used 200 of it
        assert await usage.reserve("alice", day, 800, 1_000)  # the 800 given back
        assert not await usage.reserve("alice", day, 1, 1_000)
        await usage.close()
        days = await UsageLedger(pool).days("alice")  # as another server reads it
        assert [(d.tokens, d.messages) for d in days] == [(1_000, 1)]
