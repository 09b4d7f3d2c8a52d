"""A turn's admission under both the daily token quota and the message rate, on a real
PostgreSQL: one statement reserves the tokens and takes the rate token, and a message
either limit refuses leaves nothing spent."""

from __future__ import annotations

import asyncio

import pytest

from threadline.chat.errors import QuotaExceeded, RateLimited
from threadline.chat.turns.limits import UserLimits
from threadline.settings import Settings
from threadline.storage.buckets import RateBuckets
from threadline.storage.database import Pool, open_pool
from threadline.storage.usage import UsageLedger

pytestmark = pytest.mark.anyio


def _limits(pool: Pool, *, rate: int, quota: int) -> UserLimits:
    return UserLimits(UsageLedger(pool, flush_every=3_600), RateBuckets(pool, rate), quota, 100)


async def _tokens_today(limits: UserLimits, user_id: str) -> int:
    days = await limits.usage.days(user_id)
    return days[0].tokens if days else 0


async def test_a_message_the_quota_refuses_spends_no_rate_token(settings: Settings) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        limits = _limits(pool, rate=2, quota=1_000)
        with pytest.raises(QuotaExceeded):
            await limits.admit("alice", "word " * 5_000)
        assert await _tokens_today(limits, "alice") == 0
        await limits.admit("alice", "hi")  # both rate tokens are still there
        await limits.admit("alice", "hi")
        with pytest.raises(RateLimited) as refused:
            await limits.admit("alice", "hi")
        assert refused.value.retry_after is not None
        assert 0 < refused.value.retry_after <= 30
        await limits.usage.close()


async def test_a_message_the_rate_refuses_keeps_no_reservation(settings: Settings) -> None:
    assert settings.database_url is not None
    async with open_pool(settings.database_url.get(), settings) as pool:
        limits = _limits(pool, rate=1, quota=100_000)
        stake = await limits.admit("bob", "hi")
        with pytest.raises(RateLimited):
            await limits.admit("bob", "hi")
        assert await _tokens_today(limits, "bob") == stake.reserved  # the first's only
        await limits.usage.close()
        days = await UsageLedger(pool).days("bob")  # as another server reads it
        assert days[0].tokens == stake.reserved


async def test_both_limits_hold_for_turns_admitted_at_once_by_two_servers(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    url = settings.database_url.get()
    async with open_pool(url, settings) as one, open_pool(url, settings) as other:
        servers = [_limits(one, rate=3, quota=100_000), _limits(other, rate=3, quota=100_000)]
        outcomes = await asyncio.gather(
            *(servers[n % 2].admit("carol", "hi") for n in range(8)), return_exceptions=True
        )
        admitted = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(admitted) == 3
        assert all(isinstance(o, RateLimited) for o in outcomes if isinstance(o, BaseException))
        for server in servers:
            await server.usage.close()
        days = await UsageLedger(one).days("carol")
        assert days[0].tokens == sum(stake.reserved for stake in admitted if stake is not None)
