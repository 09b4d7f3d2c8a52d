"""Long conversations: the model sees a bounded window, older turns as a running summary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import psycopg
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph
from psycopg.rows import dict_row

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.engine.context import estimate_tokens
from threadline.engine.graph import SNAPSHOT_EVERY
from threadline.settings import Settings
from threadline.storage.namespaces import user_label

pytestmark = pytest.mark.anyio


async def test_each_turn_ends_with_a_context_frame(settings: Settings) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await chat.turn("hello")
        await chat.turn("again", first.ack["conversation_id"])
    assert [c["messages_total"] for c in chat.contexts] == [2, 4]
    assert [c["messages_in_context"] for c in chat.contexts] == [2, 4]
    assert {c["token_budget"] for c in chat.contexts} == {settings.context_tokens}
    assert {c["summarized"] for c in chat.contexts} == {False}
    assert chat.contexts[0]["tokens_used"] > 0
    assert chat.contexts[1]["tokens_used"] > chat.contexts[0]["tokens_used"]
    assert {c["conversation_id"] for c in chat.contexts} == {first.ack["conversation_id"]}


async def test_over_budget_history_is_summarized_and_the_model_gets_a_bounded_window(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    tight = msgspec.structs.replace(settings, context_tokens=300)
    said = [f"message {n}: " + "lorem ipsum dolor sit amet " * 6 for n in range(8)]
    async with serve_threadline(tight) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn(said[0])).ack["conversation_id"]
        turns = [await chat.turn(text, conversation_id) for text in said[1:]]
        history = await chat.history(conversation_id)

    last_request = fake_groq.requests[-1]["messages"]
    assert fake_groq.summary_requests, "the history never got summarized"
    assert last_request[1]["role"] == "system"
    assert last_request[1]["content"].startswith("Summary of the earlier conversation:\nSUMMARY#")
    sent = [m["content"] for m in last_request]
    assert said[0] not in sent  # folded away...
    assert sent[-1] == said[-1]  # ...while the newest message is there verbatim
    assert sum(len(text) // 4 + 4 for text in sent) <= 300
    # Summaries are never streamed to the client: every streamed reply is the chat reply.
    assert all(t.streamed == t.reply["content"] for t in turns)
    assert all("SUMMARY" not in t.streamed for t in turns)
    last = chat.contexts[-1]
    assert last["summarized"] is True
    assert last["messages_total"] == 16
    assert last["messages_in_context"] < 16
    assert last["tokens_used"] <= 300 + estimate_tokens([AIMessage(turns[-1].reply["content"])])
    # The transcript is whole for the user.
    assert len(history) == 16
    assert [m["content"] for m in history if m["role"] == "user"] == said


@asynccontextmanager
async def _earlier_graph(
    database_url: str, conversation_id: str, schema: type[Any], reply: AIMessage
) -> AsyncIterator[tuple[Any, RunnableConfig]]:
    """A one-node graph of an earlier state shape on the official saver, replying `reply`.

    Yields the graph and the thread's config; afterwards the thread belongs to alice, as if
    an earlier release had written it.
    """
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:

        def respond(state: MessagesState) -> dict[str, object]:
            return {"messages": [reply]}

        builder = StateGraph(schema)
        builder.add_node("respond", respond)
        builder.add_edge(START, "respond")
        yield (
            builder.compile(checkpointer=AsyncPostgresSaver(conn)),
            {"configurable": {"thread_id": conversation_id}},
        )
        await conn.execute(
            "INSERT INTO store (prefix, key, value) VALUES (%s, %s, '{}'::jsonb)",
            (f"users.{user_label('alice')}.conversations", conversation_id),
        )


async def test_a_conversation_past_the_window_snapshot_interval_stays_whole(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    # Each turn writes twice (the message, then the reply), so this crosses a snapshot of
    # the window, where a load switches from replaying writes to the stored list.
    turns = SNAPSHOT_EVERY // 2 + 5
    expected: list[str] = []
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = None
        for n in range(turns):
            turn = await chat.turn(f"message {n}", conversation_id)
            conversation_id = turn.ack["conversation_id"]
            expected += [f"user: message {n}", f"assistant: {turn.reply['content']}"]
        history = await chat.history(str(conversation_id))

    assert fake_groq.user_turns()[1:] == expected[:-1]  # everything fits the budget
    assert [f"{m['role']}: {m['content']}" for m in history] == expected


async def test_a_thread_written_before_summaries_existed_continues(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    conversation_id = "legacy_thread_1"
    old_reply = AIMessage("old reply", id="r0")
    async with _earlier_graph(database_url, conversation_id, MessagesState, old_reply) as (
        old,
        config,
    ):
        question: MessagesState = {"messages": [HumanMessage("old question", id="h0")]}
        await old.ainvoke(question, config)

    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        turn = await chat.turn("new question", conversation_id)
        history = await chat.history(conversation_id)

    assert turn.reply["content"] == "Reply 1: new question"
    assert fake_groq.user_turns()[1:] == [
        "user: old question",
        "assistant: old reply",
        "user: new question",
    ]
    assert [m["content"] for m in history] == [
        "old question",
        "old reply",
        "new question",
        "Reply 1: new question",
    ]


class _PreviousReleaseState(MessagesState, total=False):
    # The thread state of the release before the window: the whole list, and the summary
    # as strings stored inline in every checkpoint.
    summary: str
    summarized_through: str


async def test_a_thread_from_the_previous_release_keeps_its_whole_history(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    conversation_id = "previous_release_1"
    first_reply = AIMessage("first reply", id="r0")
    async with _earlier_graph(
        database_url, conversation_id, _PreviousReleaseState, first_reply
    ) as (old, config):
        first: _PreviousReleaseState = {"messages": [HumanMessage("first question", id="h0")]}
        # durability="exit" stores no writes, only the final checkpoint's plain list: the
        # transcript must come from that list, not from writes.
        await old.ainvoke(first, config, durability="exit")
        second: _PreviousReleaseState = {"messages": [HumanMessage("second question", id="h1")]}
        await old.aupdate_state(config, second, as_node="respond")
        stopped = AIMessage("partial", id="r1", response_metadata={"stopped": True})
        await old.aupdate_state(config, {"messages": [stopped]}, as_node="respond")

    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        turn = await chat.turn("third question", conversation_id)
        history = await chat.history(conversation_id)

    assert turn.reply["content"] == "Reply 1: third question"
    assert fake_groq.user_turns()[1:] == [
        "user: first question",
        "assistant: first reply",
        "user: second question",
        "assistant: partial",
        "user: third question",
    ]
    assert [(m["content"], m.get("stopped", False)) for m in history] == [
        ("first question", False),
        ("first reply", False),
        ("second question", False),
        ("partial", True),
        ("third question", False),
        ("Reply 1: third question", False),
    ]
    assert chat.contexts[-1]["messages_total"] == 6


async def test_a_turn_with_tool_calls_counts_the_messages_in_context_as_in_the_total(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message="What is 6 * 7?")
        conversation_id = (await chat.until("message"))[0]["conversation_id"]
        await chat.turn("thanks", conversation_id)  # the first turn's context comes first
        history = await chat.history(conversation_id)

    counted = [(c["messages_in_context"], c["messages_total"]) for c in chat.contexts]
    # The user's messages and the assistant's (its call for the tool, its answer); the
    # tool's result belongs to the call, as in the total.
    assert counted == [(3, 3), (5, 5)]
    roles = [m["role"] for m in history]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert counted[-1][1] == len([r for r in roles if r != "tool"])
