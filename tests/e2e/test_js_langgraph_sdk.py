"""LangChain's JavaScript SDK (`@langchain/langgraph-sdk`, from npm, run with node) against a
served Threadline: the calls `useStream` and agent-chat-ui make."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.lgclient import client, rest
from tests.nodejs import run_node
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_the_js_sdk_finds_the_assistant_and_makes_threads_the_page_lists(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        seen = await run_node("langgraph_threads.mjs", THREADLINE_URL=f"http://{address}")
        assert seen["graphs"] == ["threadline"]
        assert seen["status"] == "idle"
        assert seen["found"] == [seen["thread_id"]]
        assert seen["missing"] == 404
        # The thread is a conversation of `local` (AUTH_MODE=none, no user header).
        listed = await rest(address, "/users/local/conversations")
        assert seen["thread_id"] in [c["conversation_id"] for c in listed["items"]]


async def _use_stream(address: str, thread_id: str, *steps: dict[str, Any]) -> list[Any]:
    """What tests/js/langgraph_use_stream.mjs saw doing `steps` on the thread."""
    url = f"http://{address}"
    steps_json = json.dumps(steps)
    seen: list[Any] = await run_node(
        "langgraph_use_stream.mjs", THREADLINE_URL=url, THREAD_ID=thread_id, STEPS=steps_json
    )
    return seen


def _said(state: list[list[Any]]) -> list[str]:
    """The text of each message of a state, as [type, content, id] triples."""
    return [content if isinstance(content, str) else content[0]["text"] for _, content, _ in state]


async def test_use_stream_s_runs_stream_values_and_tokens_and_a_second_message_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        first, second = await _use_stream(
            address, thread_id, {"do": "send", "text": "Hi"}, {"do": "send", "text": "Second"}
        )
        assert first["sent"]["checkpoint"] is None  # a new thread has no head yet
        names = [name for name, _ in first["events"]]
        assert names[0] == "metadata"
        assert names[1] == "values"  # the state with the message, stored before the reply
        assert names[-1] == "values"
        assert set(names[2:-1]) == {"messages"}
        assert list(first["text"].values()) == ["Reply 1: Hi"]
        assert _said(first["values"]) == ["Hi", "Reply 1: Hi"]
        assert all(message_id for _, _, message_id in first["values"])
        # A later message names the head's checkpoint, as agent-chat-ui sends it: it goes on.
        assert second["sent"]["checkpoint"]["checkpoint_id"]
        assert _said(second["state"]) == ["Hi", "Reply 1: Hi", "Second", "Reply 2: Second"]
        assert [t for t, _, _ in second["state"]] == ["human", "ai", "human", "ai"]


async def test_a_dropped_use_stream_rejoins_after_its_last_event_id_without_gap_or_repeat(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    long = " ".join(f"w{i}" for i in range(30))
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.05))
        (seen,) = await _use_stream(address, thread_id, {"do": "drop", "text": long, "after": 3})
        ids = [int(i) for _, i in seen["events"] if i is not None]
        assert ids == sorted(set(ids))  # no event twice, in order across the rejoin
        assert seen["droppedAt"] < len(seen["events"])  # events came after the rejoin
        assert list(seen["text"].values()) == [f"Reply 1: {long}"]  # no token lost
        assert _said(seen["state"])[-1] == f"Reply 1: {long}"
        assert seen["runId"]  # from Content-Location, as onRunCreated reports it


async def test_use_stream_s_stop_cancels_the_run_and_keeps_the_partial_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    long = " ".join(f"w{i}" for i in range(60))
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.05))
        (seen,) = await _use_stream(address, thread_id, {"do": "stop", "text": long})
        kept = _said(seen["state"])
        assert kept[0] == long
        assert 0 < len(kept[1]) < len(f"Reply 1: {long}")
        assert f"Reply 1: {long}".startswith(kept[1])
        run = await lg.runs.get(thread_id, seen["runId"])
        assert run["status"] == "interrupted"


async def test_a_message_sent_right_after_a_stop_goes_on_after_the_stopped_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    # agent-chat-ui reads no history after a stop: its next message names the head it last
    # read, from before the stopped exchange was stored. It goes on after the stopped reply.
    long = " ".join(f"w{i}" for i in range(60))
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.extend([Fault(), Fault(token_delay=0.05)])
        _, stopped, after = await _use_stream(
            address,
            thread_id,
            {"do": "send", "text": "Hi"},
            {"do": "stop", "text": long},
            {"do": "send", "text": "Next", "shown": True},
        )
        history = await lg.threads.get_history(thread_id, limit=20)
    assert after["sent"]["checkpoint"] == stopped["sent"]["checkpoint"]
    said = _said(after["state"])
    assert said[:3] == ["Hi", "Reply 1: Hi", long]
    assert 0 < len(said[3]) < len(f"Reply 2: {long}")
    assert said[4:] == ["Next", "Reply 3: Next"]
    # One branch: no state of the thread ends elsewhere than on the current path.
    current = {s["checkpoint"]["checkpoint_id"] for s in history}
    parents = {s["parent_checkpoint"]["checkpoint_id"] for s in history if s["parent_checkpoint"]}
    assert len(current - parents) == 1


async def test_use_stream_s_interrupt_is_answered_with_command_resume(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        asked, answered = await _use_stream(
            address,
            thread_id,
            {"do": "send", "text": "What is 6 * 7?"},
            {"do": "resume", "answer": {"decisions": [{"type": "approve"}]}},
        )
        (waiting,) = asked["interrupt"]
        (request,) = waiting["value"]["action_requests"]  # as HumanInTheLoopMiddleware asks
        assert request["name"] == "calculator"
        assert answered["interrupt"] is None
        assert [t for t, _, _ in answered["state"]] == ["human", "ai", "tool", "ai"]
        assert _said(answered["state"])[2] == "6 * 7 = 42"


async def test_use_stream_s_edit_and_regenerate_give_langgraph_s_state(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    # useStream edits and regenerates from the parent checkpoint of the first history
    # state that holds the message: a run from checkpoint C with input appends it to C's
    # state; with none, it continues from C (LangGraph's own server does the same).
    async with serve_threadline(settings) as address, client(address) as lg:
        for plain in (True, False):  # useStream alone; agent-chat-ui names the head
            thread_id = (await lg.threads.create())["thread_id"]
            sends = [{"do": "send", "text": t, "plain": plain} for t in ("Hi", "Second")]
            *_, again, edited, edited_again = await _use_stream(
                address,
                thread_id,
                *sends,
                {"do": "regenerate", "index": -1},
                {"do": "edit", "index": 2, "text": "Other"},
                {"do": "regenerate", "index": -1},
            )
            # (The fake model numbers its replies across the threads: 1-5, then 6-10.)
            n = 0 if plain else 5
            hi = ["Hi", f"Reply {n + 1}: Hi"]
            assert _said(again["state"]) == [*hi, "Second", f"Reply {n + 3}: Second"]
            assert _said(edited["state"]) == [*hi, "Other", f"Reply {n + 4}: Other"]
            assert _said(edited_again["state"]) == [*hi, "Other", f"Reply {n + 5}: Other"]


async def test_use_stream_s_edit_of_a_thread_s_first_message_replaces_it_on_a_new_branch(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        *_, edited = await _use_stream(
            address,
            thread_id,
            {"do": "send", "text": "Hi"},
            {"do": "send", "text": "Second"},
            {"do": "edit", "index": 0, "text": "Hello"},
        )
        assert edited["sent"]["checkpoint"] is not None  # the first state has a parent
        assert _said(edited["state"]) == ["Hello", "Reply 3: Hello"]
        page = await rest(address, f"/users/local/conversations/{thread_id}")
    assert [m["content"] for m in page["messages"]] == ["Hello", "Reply 3: Hello"]
    branch = page["messages"][0]["branch"]
    assert (branch["index"], branch["count"]) == (1, 2)  # the first message's sibling


async def test_a_message_after_a_failed_run_from_the_head_keeps_the_failed_run_s_message(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    quick = msgspec.structs.replace(settings, groq_max_retries=0)
    async with serve_threadline(quick) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.extend([Fault(), Fault(status=400)])
        *_, failed, after = await _use_stream(
            address,
            thread_id,
            {"do": "send", "text": "Hi", "plain": True},
            {"do": "send", "text": "Fail", "plain": True},
            {"do": "send", "text": "Next"},  # agent-chat-ui names the head's checkpoint
        )
        assert [name for name, _ in failed["events"]][-1] == "error"
        assert _said(failed["state"]) == ["Hi", "Reply 1: Hi", "Fail"]
        # The head's state holds the stored message: a run from it adds to that state.
        assert _said(after["state"]) == ["Hi", "Reply 1: Hi", "Fail", "Next", "Reply 3: Next"]
        page = await rest(address, f"/users/local/conversations/{thread_id}")
        assert [m["content"] for m in page["messages"]] == _said(after["state"])  # once each


async def test_agent_chat_ui_s_thread_list_shows_a_websocket_conversation_that_reads_well(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        async with connect(address, "local") as chat:  # the page's first message
            await chat.send(message="What is 6 * 7?")
            frames = await chat.until("message")
        conversation_id, reply = frames[0]["conversation_id"], frames[-1]
        async with connect(address, "someone-else") as chat:
            await chat.turn("Not yours")
        listed = await run_node("langgraph_thread_list.mjs", THREADLINE_URL=f"http://{address}")
        (thread,) = listed  # local's one thread; another user's is not listed
        assert thread["thread_id"] == conversation_id
        assert thread["metadata"]["graph_id"] == "threadline"
        messages = thread["messages"]
        assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
        assert all(m["id"] for m in messages)
        assert len({m["id"] for m in messages}) == 4
        assert messages[0]["content"] == "What is 6 * 7?"
        (call,) = messages[1]["tool_calls"]
        assert call["name"] == "calculator"
        assert messages[2]["tool_call_id"] == call["id"]
        assert messages[2]["content"] == "6 * 7 = 42"
        assert messages[3]["content"] == reply["content"]
