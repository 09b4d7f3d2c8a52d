"""Per-user limits hold across servers sharing a database: messages per minute, tokens
per day, sockets at once; usage is recorded per day and readable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.credentials import handshake, row_count
from tests.fake_groq import FakeGroq
from tests.polling import eventually
from tests.processes import fake_groq_env, free_port, running, wait_ready
from tests.serving import serve_threadline, usage_of
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _another_process(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq, settings: dict[str, str]
) -> AsyncIterator[str]:
    """A second server: the `threadline` command in a process of its own, on the same database."""
    port = free_port()
    env = fake_groq_env(tmp_path, port, database_url, fake_groq.url, GROQ_MAX_RETRIES="0")
    with running({**env, **settings}, tmp_path, tmp_path / "second.log"):
        await wait_ready(port)
        yield f"127.0.0.1:{port}"


async def test_the_message_rate_holds_across_two_server_processes(
    settings: Settings, database_url: str, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_messages=3)
    async with (
        serve_threadline(limited) as first,
        _another_process(tmp_path, database_url, fake_groq, {"RATE_LIMIT_MESSAGES": "3"}) as second,
    ):
        async with connect(first, "alice") as on_first, connect(second, "alice") as on_second:
            conversation_id = (await on_first.turn("one")).ack["conversation_id"]
            await on_second.turn("two", conversation_id)
            await on_first.turn("three", conversation_id)
            stored = await row_count(database_url, "checkpoint_writes")
            refused = await on_second.error(message="four", conversation_id=conversation_id)
            assert refused["code"] == "rate_limited"
            assert refused["retryable"] is True
            assert 0 < refused["retry_after"] <= 20  # one message's worth of a 3/minute bucket
            again = await on_first.error(type="regenerate", conversation_id=conversation_id)
            assert again["code"] == "rate_limited"
            # Nothing of the refused messages was stored or sent to the model.
            assert await row_count(database_url, "checkpoint_writes") == stored
            assert len(fake_groq.requests) == 3
            history = await on_first.history(conversation_id)
            assert [m["content"] for m in history if m["role"] == "user"] == ["one", "two", "three"]
        # Another user has a bucket of their own.
        async with connect(second, "bob") as bob:
            assert (await bob.turn("hi")).reply["content"]


async def test_the_daily_token_quota_holds_across_two_server_processes(
    settings: Settings, database_url: str, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    # A model call reserves its estimated input (a few hundred tokens with the tools
    # offered) and a reply's most output (5,000) before it is made; the fake model then
    # reports 13 tokens used (10 prompt tokens + "Reply n: hi").
    quota = 5_900  # room for one more call after a turn, not for a 1,000-token message
    env = {"DAILY_TOKEN_QUOTA": str(quota), "GROQ_MAX_TOKENS": "5000"}
    limited = msgspec.structs.replace(settings, daily_token_quota=quota, groq_max_tokens=5_000)
    async with (
        serve_threadline(limited) as first,
        _another_process(tmp_path, database_url, fake_groq, env) as second,
    ):
        async with connect(first, "alice") as chat:
            await chat.turn("hi")

        async def counted_on_second() -> bool:  # the first server writes within a second
            return bool((await usage_of(second, "alice"))["tokens_today"] == 13)

        await eventually(counted_on_second, within=10)
        async with connect(second, "alice") as chat:
            await chat.turn("hi")
        async with connect(first, "alice") as chat:
            refused = await chat.error(message="word " * 800)
        assert refused["code"] == "quota_exceeded"
        assert 0 < refused["retry_after"] <= 86_400  # until midnight UTC
        assert len(fake_groq.requests) == 2  # the refused message reached no model
        usage = await usage_of(second, "alice")
        assert (usage["tokens_today"], usage["messages_today"]) == (26, 2)
        assert (usage["daily_token_quota"], usage["remaining_today"]) == (quota, quota - 26)
        assert usage["days"] == [{"day": usage["day"], "tokens": 26, "messages": 2}]
        async with connect(first, "bob") as bob:
            assert (await bob.turn("hi")).reply["content"]


async def test_the_offline_model_s_usage_is_estimated(settings: Settings) -> None:
    offline = msgspec.structs.replace(settings, groq_api_key=None)
    async with serve_threadline(offline) as address:
        async with connect(address, "alice") as chat:
            await chat.turn("How long is a piece of string?")
        usage = await usage_of(address, "alice")
    assert usage["messages_today"] == 1
    assert 10 < usage["tokens_today"] < 1000
    assert usage["daily_token_quota"] is None


async def test_erasing_a_user_erases_their_usage(settings: Settings) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            await chat.turn("hi")
        assert (await usage_of(address, "alice"))["tokens_today"] > 0
        async with httpx.AsyncClient() as http:
            assert (await http.delete(f"http://{address}/users/alice")).status_code == 200
        assert (await usage_of(address, "alice"))["days"] == []


async def test_sockets_per_user_are_limited_across_two_servers(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, max_sockets_per_user=2)
    async with serve_threadline(limited) as first, serve_threadline(limited) as second:
        async with connect(first, "alice"), connect(second, "alice") as other:
            refused = await handshake(first, "/ws/alice")
            assert (refused.status_code, refused.json()["code"]) == (429, "too_many_sockets")
            assert (await handshake(second, "/ws/bob")).status_code == 101  # bob's own seats
            assert (await other.turn("still works")).reply["content"]
        # Closed sockets give their seats back.
        async with connect(first, "alice") as chat, connect(first, "alice"):
            assert (await chat.turn("again")).reply["content"]
