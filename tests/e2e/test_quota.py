"""The daily token quota holds when many turns start at once, on several servers.

The offline model's usage is Threadline's own estimate, so what a turn reserves and what
it is charged are counted the same way: the quota is the bound.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import msgspec
import pytest
from langchain_core.messages import HumanMessage

from tests.fake_groq import FakeGroq
from tests.polling import eventually
from tests.processes import free_port, process_env, running, wait_ready
from tests.serving import serve_threadline, usage_of
from tests.wsclient import ChatClient, Frame, connect
from threadline.engine.context import estimate_tokens
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

_QUOTA = 12_000
_REPLY_TOKENS = 500
_LIMITS = {"DAILY_TOKEN_QUOTA": str(_QUOTA), "GROQ_MAX_TOKENS": str(_REPLY_TOKENS)}


@asynccontextmanager
async def _two_offline_servers(
    settings: Settings, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """This process's server and a `threadline` process, both offline, on one database."""
    offline = msgspec.structs.replace(
        settings, groq_api_key=None, daily_token_quota=_QUOTA, groq_max_tokens=_REPLY_TOKENS
    )
    port = free_port()
    env = process_env(tmp_path, port, DATABASE_URL=database_url, **_LIMITS)
    async with serve_threadline(offline) as first:
        with running(env, tmp_path, tmp_path / "second.log"):
            await wait_ready(port)
            yield first, f"127.0.0.1:{port}"


async def _outcome(chat: ChatClient) -> list[Frame]:
    return await chat.until_any("message", "error", within=60)


async def test_large_messages_sent_at_once_on_two_servers_stay_within_the_quota(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    # Five messages of 16 KB (about 4,100 tokens each) at once, three on one server and two
    # on the other: together they would take 20,000 tokens of a 12,000 quota.
    async with _two_offline_servers(settings, database_url, tmp_path) as (first, second):
        async with AsyncExitStack() as sockets:
            chats = [
                await sockets.enter_async_context(connect(address, "alice"))
                for address in (first, second, first, second, first)
            ]
            for number, chat in enumerate(chats):
                await chat.send(message=f"message {number} " + "word " * 3_270)
            outcomes: list[list[Frame]] = [[] for _ in chats]
            async with anyio.create_task_group() as group:
                for index, chat in enumerate(chats):

                    async def read(index: int = index, chat: ChatClient = chat) -> None:
                        outcomes[index] = await _outcome(chat)

                    group.start_soon(read)
        answered = [frames for frames in outcomes if frames[-1]["type"] == "message"]
        refused = [frames[-1] for frames in outcomes if frames[-1]["type"] == "error"]
        assert len(answered) + len(refused) == len(chats)
        assert answered, "no message was answered"
        assert refused, "every message was answered"
        for error in refused:
            assert error["code"] == "quota_exceeded", error
            assert 0 < error["retry_after"] <= 86_400  # until midnight UTC

        async def written_everywhere() -> bool:  # each server writes its usage within a second
            here, there = await usage_of(first, "alice"), await usage_of(second, "alice")
            return bool(here == there and here["messages_today"] == len(answered))

        await eventually(written_everywhere, within=10)
        usage = await usage_of(first, "alice")
    assert 0 < usage["tokens_today"] <= _QUOTA
    assert usage["remaining_today"] == _QUOTA - usage["tokens_today"]
    assert usage["days"] == [
        {"day": usage["day"], "tokens": usage["tokens_today"], "messages": len(answered)}
    ]


async def test_a_model_call_that_does_not_fit_what_is_left_ends_the_turn(
    settings: Settings,
) -> None:
    # The second message is short, but its model call sends the first (16 KB) again: it is
    # reserved before it is made, and does not fit in what the first turn left.
    offline = msgspec.structs.replace(
        settings, groq_api_key=None, daily_token_quota=8_000, groq_max_tokens=_REPLY_TOKENS
    )
    async with serve_threadline(offline) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("word " * 3_270)).ack["conversation_id"]
        spent = (await usage_of(address, "alice"))["tokens_today"]
        await chat.send(message="and now?", conversation_id=conversation_id)
        frames = await _outcome(chat)
        usage = await usage_of(address, "alice")
        history = await chat.history(conversation_id)
    assert [frame["type"] for frame in frames] == ["ack", "error"]
    assert frames[-1]["code"] == "quota_exceeded"
    assert 0 < frames[-1]["retry_after"] <= 86_400
    # The turn made no model call: it used nothing, and its reservation went back.
    assert (usage["tokens_today"], usage["messages_today"]) == (spent, 1)
    # The message is kept (stored before the call), unanswered: `regenerate` answers it.
    assert [(m["role"], m["content"]) for m in history[-2:]] == [
        ("assistant", history[-2]["content"]),
        ("user", "and now?"),
    ]


async def test_under_a_quota_every_call_asks_for_a_bounded_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    # Without GROQ_MAX_TOKENS, a reply may take a fifth of CONTEXT_TOKENS.
    fake_groq.tool_calls.append([("calculator", {"expression": "5 - 2"})])
    limited = msgspec.structs.replace(settings, daily_token_quota=50_000, context_tokens=10_000)
    async with serve_threadline(limited) as address:
        async with connect(address, "alice") as chat:
            await chat.send(message="5-2")
            assert (await _outcome(chat))[-1]["content"] == "Tools said: 5 - 2 = 3"
        usage = await usage_of(address, "alice")
    assert [request["max_tokens"] for request in fake_groq.requests] == [2_000, 2_000]
    # What both calls reserved went back; what the model reported stays: 10 + 10 + 7 words.
    assert (usage["tokens_today"], usage["messages_today"]) == (27, 1)
    assert usage["remaining_today"] == 50_000 - 27


async def test_the_model_calls_of_a_graph_of_ones_own_are_reserved_too(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    # Room for the message and a reply, not for the graph's own instructions and tools.
    text = "How many words in 'one two three'?"
    quota = estimate_tokens([HumanMessage(text)]) + _REPLY_TOKENS + 1
    custom = msgspec.structs.replace(
        settings,
        graph="examples.word_count_agent:build",
        daily_token_quota=quota,
        groq_max_tokens=_REPLY_TOKENS,
    )
    async with serve_threadline(custom) as address, connect(address, "alice") as chat:
        await chat.send(message=text)
        frames = await _outcome(chat)
        usage = await usage_of(address, "alice")
    assert [frame["type"] for frame in frames] == ["ack", "error"]
    assert frames[-1]["code"] == "quota_exceeded"
    assert fake_groq.requests == []  # refused before its request was sent
    assert (usage["tokens_today"], usage["messages_today"]) == (0, 0)
