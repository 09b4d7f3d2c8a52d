"""The LangGraph API's runs, driven by LangChain's own `langgraph_sdk` against a served
Threadline: streamed in the modes `useStream` asks for, over the same conversations."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import httpx
import msgspec
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import (
    ConflictError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from langgraph_sdk.schema import RunCreateMetadata, StreamPart

from tests.credentials import api_keys, token
from tests.e2e.test_auth_matrix import jwt_settings
from tests.fake_groq import FakeGroq, Fault
from tests.lgclient import client, rest
from tests.project import ROOT
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

MODES: list[Any] = ["values", "messages-tuple"]


def _human(text: str, message_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "human", "content": text}
    if message_id is not None:
        message["id"] = message_id
    return {"messages": [message]}


async def _stream(
    lg: LangGraphClient, thread_id: str | None, assistant: str = "threadline", **run: Any
) -> list[StreamPart]:
    run.setdefault("stream_mode", MODES)
    parts = lg.runs.stream(thread_id, assistant, **run)
    return [part async for part in parts]


def _said(parts: list[StreamPart]) -> str:
    """The reply's text as `useStream` puts it together from the `messages` events."""
    return "".join(p.data[0]["content"] for p in parts if p.event == "messages")


async def test_a_run_streams_values_and_message_tokens_as_use_stream_reads_them(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        created: list[RunCreateMetadata] = []
        parts = await _stream(
            lg, thread_id, input=_human("How do I keep ferns?"), on_run_created=created.append
        )
        assert parts[0].event == "metadata"
        run_id = parts[0].data["run_id"]
        assert parts[0].data["thread_id"] == thread_id
        assert created == [{"run_id": run_id, "thread_id": thread_id}]  # Content-Location
        values = [p.data for p in parts if p.event == "values"]
        assert [m["type"] for m in values[0]["messages"]] == ["human"]
        assert values[0]["messages"][0]["content"] == "How do I keep ferns?"
        assert _said(parts) == "Reply 1: How do I keep ferns?"
        chunks = [p.data for p in parts if p.event == "messages"]
        assert {chunk["id"] for chunk, _ in chunks} == {run_id}  # the reply is stored under it
        assert all(chunk["type"] == "AIMessageChunk" for chunk, _ in chunks)
        assert all(meta["langgraph_node"] == "respond" for _, meta in chunks)
        final = values[-1]["messages"]
        assert [(m["type"], m["content"]) for m in final] == [
            ("human", "How do I keep ferns?"),
            ("ai", "Reply 1: How do I keep ferns?"),
        ]
        assert parts[-1].event == "values"
        assert [p.id for p in parts if p.event == "messages"] == [
            str(n) for n in range(1, len(chunks) + 1)
        ]  # Threadline's seq
        # The same conversation everywhere: the thread's state, the WebSocket, the sidebar.
        assert (await lg.threads.get_state(thread_id))["values"] == values[-1]
        listed = await rest(address, "/users/local/conversations")
        assert thread_id in [c["conversation_id"] for c in listed["items"]]
        async with connect(address, "local") as chat:
            turn = await chat.turn("And roses?", conversation_id=thread_id)
        assert turn.reply["content"] == "Reply 2: And roses?"
        again = await _stream(lg, thread_id, input=_human("And tulips?"))
        assert [m["content"] for m in again[-1].data["messages"]][-2:] == [
            "And tulips?",
            "Reply 3: And tulips?",
        ]


async def test_a_message_sent_again_is_stored_once_and_answered_as_stored(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        first = await _stream(lg, thread_id, input=_human("Hello there", "m-1"))
        again = await _stream(lg, thread_id, input=_human("Hello there", "m-1"))
        assert _said(again) == _said(first) == "Reply 1: Hello there"
        assert again[-1].data == first[-1].data
        assert len(fake_groq.requests) == 1  # answered once
        state: Any = await lg.threads.get_state(thread_id)
        assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai"]


async def test_strings_and_text_blocks_are_messages_and_a_new_thread_may_be_made(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        parts = await _stream(
            lg, "fresh-thread", input={"messages": ["Hi"]}, if_not_exists="create"
        )
        assert _said(parts) == "Reply 1: Hi"
        blocks = {
            "role": "user",
            "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "again"}],
        }
        parts = await _stream(lg, "fresh-thread", input={"messages": [blocks]})
        assert _said(parts) == "Reply 2: Hi again"
        with pytest.raises(NotFoundError):
            await _stream(lg, "no-such-thread", input=_human("Hi"))


async def test_bad_input_is_refused_with_a_code(settings: Settings, fake_groq: FakeGroq) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            for body, field in [
                ({"assistant_id": "threadline"}, "input"),
                ({"assistant_id": "threadline", "input": {"messages": []}}, "input.messages"),
                ({"assistant_id": "threadline", "input": _human("  ")}, "input.messages"),
                (
                    {
                        "assistant_id": "threadline",
                        "input": {"messages": [{"type": "ai", "content": "x"}]},
                    },
                    "input.messages",
                ),
                (
                    {"assistant_id": "threadline", "input": _human("x"), "webhook": "http://x"},
                    "webhook",
                ),
            ]:
                response = await http.post(f"/threads/{thread_id}/runs/stream", json=body)
                assert response.status_code == 422, body
                assert response.json()["field"] == field
            response = await http.post(
                f"/threads/{thread_id}/runs/stream",
                json={"assistant_id": "nobody", "input": _human("x")},
            )
            assert response.status_code == 404
        assert fake_groq.requests == []


async def test_a_run_without_a_message_or_with_two_says_which(settings: Settings) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            details = []
            for messages in ([], [_human("a")["messages"][0], _human("b")["messages"][0]]):
                body = {"assistant_id": "threadline", "input": {"messages": messages}}
                response = await http.post(f"/threads/{thread_id}/runs/stream", json=body)
                assert response.status_code == 422, response.text
                details.append(response.json()["detail"])
        assert details == [
            "input.messages is empty: a run takes one human message",
            "input.messages: one human message a run",
        ]


async def test_a_failed_run_ends_with_an_error_event_and_its_code(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    quick = msgspec.structs.replace(settings, groq_max_retries=0)
    async with serve_threadline(quick) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(status=400))
        parts = await _stream(lg, thread_id, input=_human("Fail please"))
        assert parts[0].event == "metadata"  # the message was stored first
        assert parts[-1].event == "error"
        assert parts[-1].data["code"] == "llm_error"
        assert parts[-1].data["error"] == "llm_error"
        assert parts[-1].data["message"]
        state: Any = await lg.threads.get_state(thread_id)
        assert [m["content"] for m in state["values"]["messages"]] == ["Fail please"]


async def test_another_user_s_thread_looks_missing(settings: Settings, fake_groq: FakeGroq) -> None:
    async with serve_threadline(settings) as address:
        async with client(address, "alice") as alice:
            thread_id = (await alice.threads.create())["thread_id"]
        async with client(address, "bob") as bob:
            with pytest.raises(NotFoundError):
                await _stream(bob, thread_id, input=_human("Mine now"))
            # Asked to make it if missing: thread ids are global, so the id is taken (409,
            # as LangGraph's POST /threads answers), and nothing of alice's is shown.
            with pytest.raises(ConflictError):
                await _stream(bob, thread_id, input=_human("Mine now"), if_not_exists="create")
        assert fake_groq.requests == []


async def test_an_approval_is_an_interrupt_in_values_answered_with_command_resume(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        paused = await _stream(lg, thread_id, input=_human("What is 6 * 7?"))
        asked = paused[-1].data["__interrupt__"]
        assert paused[-1].event == "values"
        # Asked as LangChain's HumanInTheLoopMiddleware asks, the shape agent-chat-ui's
        # inbox shows with its approve and reject buttons.
        (request,) = [i["value"] for i in asked]
        assert request["action_requests"] == [
            {"name": "calculator", "args": {"expression": "6 * 7"}}
        ]
        assert request["review_configs"] == [
            {"action_name": "calculator", "allowed_decisions": ["approve", "reject"]}
        ]
        assert paused[-2].data["messages"][-1]["tool_calls"][0]["name"] == "calculator"
        assert (await lg.threads.get(thread_id))["status"] == "interrupted"
        # A message meanwhile waits for the answer, even with the answers agent-chat-ui
        # makes up for the calls it sees unanswered (Threadline answers every call itself).
        (call,) = paused[-2].data["messages"][-1]["tool_calls"]
        made_up = {"type": "tool", "tool_call_id": call["id"], "content": "Successfully handled"}
        meanwhile = {"messages": [made_up, *_human("And 7 * 8?")["messages"]]}
        with pytest.raises(ConflictError) as refused:
            await _stream(lg, thread_id, input=meanwhile)
        assert "waits for your answer" in str(refused.value)
        # Answered as that middleware is, and as agent-chat-ui's Approve button answers:
        # an empty input beside the command, and the checkpoint the thread waits at.
        approve = {"decisions": [{"type": "approve"}]}
        head = (await lg.threads.get_state(thread_id))["checkpoint"]
        resumed = await _stream(
            lg, thread_id, input={}, command={"resume": approve}, checkpoint=head
        )
        assert resumed[0].event == "metadata"
        tool = [p.data[0] for p in resumed if p.event == "messages" and p.data[0]["type"] == "tool"]
        assert [t["content"] for t in tool] == ["6 * 7 = 42"]
        final = resumed[-1].data["messages"]
        assert [m["type"] for m in final] == ["human", "ai", "tool", "ai"]
        assert (await lg.threads.get(thread_id))["status"] == "idle"
        # Nothing waits now: a resume is refused, and changes nothing.
        with pytest.raises(ConflictError):
            await _stream(lg, thread_id, command={"resume": {"approved": True}})


async def test_tokens_alone_tell_no_state_but_every_token_and_the_call_asked_for(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        parts = await _stream(lg, thread_id, input=_human("Hi"), stream_mode=["messages-tuple"])
        assert [p.event for p in parts[:1]] == ["metadata"]
        assert {p.event for p in parts[1:]} == {"messages"}
        assert _said(parts) == "Reply 1: Hi"
        # A run that pauses still tells the call it waits on, as a chunk of its message.
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        paused = await _stream(
            lg, thread_id, input=_human("What is 6 * 7?"), stream_mode=["messages-tuple"]
        )
        assert {p.event for p in paused[1:]} == {"messages"}
        assert paused[-1].data[0]["tool_calls"][0]["name"] == "calculator"
        assert (await lg.threads.get(thread_id))["status"] == "interrupted"


async def test_a_denied_call_is_answered_by_interrupt_id(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.tool_calls.append([("calculator", {"expression": "1 / 0"})])
        paused = await _stream(lg, thread_id, input=_human("Divide by zero"))
        (asked,) = paused[-1].data["__interrupt__"]
        resumed = await _stream(
            lg, thread_id, command={"resume": {asked["id"]: {"approved": False}}}
        )
        (tool,) = [m for m in resumed[-1].data["messages"] if m["type"] == "tool"]
        assert tool["status"] == "error"
        assert len(fake_groq.requests) == 2  # the model heard of the denial, and answered


async def test_a_graph_s_interrupt_and_langchain_s_approvals_are_resumed_as_they_ask(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    asking = msgspec.structs.replace(settings, graph="tests.interrupt_graphs:ask_string")
    async with serve_threadline(asking) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        paused = await _stream(lg, thread_id, "graph", input=_human("transfer money"))
        (asked,) = paused[-1].data["__interrupt__"]
        assert isinstance(asked["value"], str)
        resumed = await _stream(lg, thread_id, "graph", command={"resume": "to bob"})
        assert _said(resumed) == 'Reply 1: The user answered: "to bob"'  # as it was sent
        assert resumed[-1].data["messages"][-1]["type"] == "ai"
    hitl = msgspec.structs.replace(settings, graph="tests.interrupt_graphs:hitl_agent")
    fake_groq.tool_calls.append([("transfer", {"amount": 5, "to": "bob"})])
    async with serve_threadline(hitl) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        paused = await _stream(lg, thread_id, "graph", input=_human("send bob five dollars"))
        (asked,) = paused[-1].data["__interrupt__"]
        assert asked["value"]["action_requests"][0]["name"] == "transfer"
        decisions = {"decisions": [{"type": "approve"}]}
        resumed = await _stream(lg, thread_id, "graph", command={"resume": decisions})
        tools = [m for m in resumed[-1].data["messages"] if m["type"] == "tool"]
        assert [t["content"] for t in tools] == ["sent $5 to bob"]


def _react_project(settings: Settings, fake_groq: FakeGroq, tmp_path: Path) -> Settings:
    """The react-style project (graphs `agent` and `planner`), its model the fake Groq."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "data" / "react_style", project)
    env = f"GROQ_API_KEY=gsk_test_key_not_real\nGROQ_API_BASE={fake_groq.url}\n"
    (project / ".env").write_text(env, encoding="utf-8")
    return msgspec.structs.replace(
        settings,
        langgraph_config=str(project / "langgraph.json"),
        graph_configurable=json.dumps({"planner": {"style": "three"}}),
    )


async def test_a_thread_s_first_run_chooses_its_assistant_configurable_and_context(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GROQ_API_KEY", "GROQ_API_BASE"):  # the project's .env sets them
        monkeypatch.delenv(name, raising=False)
    served = _react_project(settings, fake_groq, tmp_path)
    async with serve_threadline(served) as address, client(address) as lg:
        planned = (await lg.threads.create())["thread_id"]
        five = {"configurable": {"style": "five"}}
        await _stream(lg, planned, "planner", input=_human("plan"), config=five)
        system = fake_groq.requests[-1]["messages"][0]["content"]
        assert system.startswith("Plan in five steps.")
        # Each later run may name the same again (LangChain's clients do), not change it.
        await _stream(lg, planned, "planner", input=_human("and then?"), config=five)
        assert fake_groq.requests[-1]["messages"][0]["content"].startswith("Plan in five")
        await _stream(lg, planned, "planner", input=_human("and after?"))
        assert fake_groq.requests[-1]["messages"][0]["content"].startswith("Plan in five")
        with pytest.raises(UnprocessableEntityError):
            await _stream(lg, planned, "agent", input=_human("who are you?"))
        terse = (await lg.threads.create())["thread_id"]
        context = {"system_prompt": "You are terse."}
        await _stream(lg, terse, "agent", input=_human("hello"), context=context)
        assert fake_groq.requests[-1]["messages"][0]["content"] == "You are terse."
        with pytest.raises(UnprocessableEntityError):
            await _stream(lg, terse, "agent", input=_human("hi"), context={"system_prompt": "x"})
        assert len(fake_groq.requests) == 4


async def test_wait_answers_the_final_values_and_a_stateless_run_leaves_no_thread(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        values: Any = await lg.runs.wait(thread_id, "threadline", input=_human("Hi"))
        assert [m["content"] for m in values["messages"]] == ["Hi", "Reply 1: Hi"]
        assert (await lg.threads.get_state(thread_id))["values"] == values
        alone: Any = await lg.runs.wait(None, "threadline", input=_human("Alone"))
        assert [m["content"] for m in alone["messages"]] == ["Alone", "Reply 2: Alone"]
        parts = await _stream(lg, None, input=_human("Stream alone"))
        assert _said(parts) == "Reply 3: Stream alone"
        listed = await rest(address, "/users/local/conversations")
        assert [c["conversation_id"] for c in listed["items"]] == [thread_id]
        kept: Any = await lg.runs.wait(
            None, "threadline", input=_human("Keep it"), on_completion="keep"
        )
        assert kept["messages"][-1]["content"] == "Reply 4: Keep it"
        assert len(await lg.threads.search()) == 2
    quick = msgspec.structs.replace(settings, groq_max_retries=0)
    async with serve_threadline(quick) as address, client(address) as lg:
        fake_groq.faults.append(Fault(status=400))
        failed: Any = await lg.runs.wait(
            None, "threadline", input=_human("Fail"), raise_error=False
        )
        assert failed["__error__"]["code"] == "llm_error"


async def test_multitask_reject_refuses_and_interrupt_stops_the_reply_first(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.05))
        long = " ".join(["word"] * 60)
        running = lg.runs.stream(thread_id, "threadline", input=_human(long), stream_mode=MODES)
        first = await _until_a_token(running)
        assert first[0].event == "metadata"
        with pytest.raises(ConflictError):
            await _stream(lg, thread_id, input=_human("Me too"), multitask_strategy="reject")
        parts = await _stream(lg, thread_id, input=_human("Me now"), multitask_strategy="interrupt")
        assert _said(parts) == "Reply 2: Me now"
        rest_of_first = [part async for part in running]
        stopped = rest_of_first[-1].data["messages"][-1]
        assert stopped["type"] == "ai"
        assert 0 < len(stopped["content"]) < len(f"Reply 1: {long}")
        history = await rest(address, f"/users/local/conversations/{thread_id}")
        assert [
            m.get("stopped", False) for m in history["messages"] if m["role"] == "assistant"
        ] == [
            True,
            False,
        ]


async def test_on_disconnect_cancel_stops_the_reply_and_continue_lets_it_finish(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    long = " ".join(["word"] * 40)
    async with serve_threadline(settings) as address, client(address) as lg:
        for mode in ("cancel", "continue"):
            thread_id = (await lg.threads.create())["thread_id"]
            fake_groq.faults.append(Fault(token_delay=0.05))
            parts = lg.runs.stream(
                thread_id, "threadline", input=_human(long), stream_mode=MODES, on_disconnect=mode
            )
            async for part in parts:
                if part.event == "messages":
                    break
            await cast("AsyncGenerator[StreamPart]", parts).aclose()  # the client leaves
            async with asyncio.timeout(60):
                while (await lg.threads.get(thread_id))["status"] == "busy":  # noqa: ASYNC110 - as a client polls
                    await asyncio.sleep(0.05)
            history = await rest(address, f"/users/local/conversations/{thread_id}")
            (reply,) = [m for m in history["messages"] if m["role"] == "assistant"]
            assert reply.get("stopped", False) is (mode == "cancel"), mode


async def test_a_background_run_is_listed_joined_and_found_from_its_checkpoints(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.02))
        run: Any = await lg.runs.create(thread_id, "threadline", input=_human("In the back"))
        assert run["status"] in {"pending", "running"}
        assert run["thread_id"] == thread_id
        values: Any = await lg.runs.join(thread_id, run["run_id"])
        assert values["messages"][-1]["content"] == "Reply 1: In the back"
        assert (await lg.runs.get(thread_id, run["run_id"]))["status"] == "success"
        second = (await _stream(lg, thread_id, input=_human("Again")))[0].data["run_id"]
        listed = await lg.runs.list(thread_id)
        assert [(r["run_id"], r["status"]) for r in listed] == [
            (second, "success"),
            (run["run_id"], "success"),
        ]
        assert await lg.runs.list(thread_id, status="error") == []
        # An older run has ended: rejoined, it tells the state, never the newer run's events.
        older = [p async for p in lg.runs.join_stream(thread_id, run["run_id"], stream_mode=MODES)]
        assert [p.event for p in older] == ["metadata", "values"]
        assert older[0].data["run_id"] == run["run_id"]
        with pytest.raises(NotFoundError):
            await lg.runs.get(thread_id, "no-such-run")
    async with serve_threadline(settings) as address, client(address, "mallory") as other:
        with pytest.raises(NotFoundError):
            await other.runs.get(thread_id, run["run_id"])
        with pytest.raises(NotFoundError):
            await other.runs.list(thread_id)


async def test_a_stream_dropped_mid_reply_is_rejoined_after_its_last_event_id(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    long = " ".join(["word"] * 30)
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.03))
        parts = lg.runs.stream(
            thread_id, "threadline", input=_human(long), stream_mode=MODES, on_disconnect="continue"
        )
        had: list[StreamPart] = []
        async for part in parts:
            had.append(part)
            if sum(p.event == "messages" for p in had) == 5:
                break
        await cast("AsyncGenerator[StreamPart]", parts).aclose()  # the client drops
        run_id, last = had[0].data["run_id"], had[-1].id
        assert last == "5"
        rest_of = [
            p
            async for p in lg.runs.join_stream(
                thread_id, run_id, last_event_id=last, stream_mode=MODES
            )
        ]
        assert rest_of[0].event == "messages"  # no second metadata, nothing twice
        assert rest_of[0].id == "6"
        assert _said(had) + _said(rest_of) == f"Reply 1: {long}"
        assert rest_of[-1].event == "values"
        assert rest_of[-1].data["messages"][-1]["content"] == f"Reply 1: {long}"
        # Rejoined after the end: the stored reply, whole.
        late = [p async for p in lg.runs.join_stream(thread_id, run_id)]  # as the SDK asks
        assert late[0].event == "metadata"
        assert _said(late) == f"Reply 1: {long}"


async def test_cancel_stops_the_run_keeping_its_partial_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    long = " ".join(["word"] * 60)
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        await lg.runs.wait(thread_id, "threadline", input=_human("First"))
        fake_groq.faults.append(Fault(token_delay=0.05))
        run: Any = await lg.runs.create(thread_id, "threadline", input=_human(long))
        async with connect(address, "local") as chat:
            await chat.send(type="resume", conversation_id=thread_id, after_seq=0)
            await chat.until("token")
        await lg.runs.cancel(thread_id, run["run_id"], wait=True)
        assert (await lg.runs.get(thread_id, run["run_id"]))["status"] == "interrupted"
        values: Any = (await lg.threads.get_state(thread_id))["values"]
        reply = values["messages"][-1]
        assert 0 < len(reply["content"]) < len(f"Reply 2: {long}")
        with pytest.raises(ConflictError):
            await lg.runs.cancel(thread_id, run["run_id"])


async def test_messages_and_updates_modes_tell_each_step(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        parts = [
            p
            async for p in lg.runs.stream(
                thread_id,
                "threadline",
                input=_human("What is 6 * 7?"),
                stream_mode=["messages", "updates", "custom"],
            )
        ]
        names = [p.event for p in parts]
        assert names[0] == "metadata"
        updates = [p.data for p in parts if p.event == "updates"]
        assert [next(iter(u)) for u in updates] == ["respond", "tools", "respond"]
        assert updates[1]["tools"]["messages"][0]["content"] == "6 * 7 = 42"
        assert "messages/metadata" in names
        partial = [p.data[0] for p in parts if p.event == "messages/partial"]
        assert partial[-1]["content"] == updates[-1]["respond"]["messages"][0]["content"]
        assert "values" not in names
        with pytest.raises(UnprocessableEntityError):
            await _stream(lg, thread_id, input=_human("x"), stream_mode=["events"])


async def test_rollback_removes_the_partial_reply_before_the_next_run(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    long = " ".join(["word"] * 60)
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.05))
        running = lg.runs.stream(thread_id, "threadline", input=_human(long), stream_mode=MODES)
        first = await _until_a_token(running)
        parts = await _stream(lg, thread_id, input=_human("Instead"), multitask_strategy="rollback")
        assert _said(parts) == "Reply 2: Instead"
        [part async for part in running]
        messages = (await lg.threads.get_state(thread_id))["values"]["messages"]  # type: ignore[call-overload]
        assert [(m["type"], m["content"]) for m in messages] == [
            ("human", long),  # what the user sent is never lost
            ("human", "Instead"),
            ("ai", "Reply 2: Instead"),
        ]
        listed = [r["run_id"] for r in await lg.runs.list(thread_id)]
        assert first[0].data["run_id"] not in listed  # gone, as the LangGraph server deletes it
        # A cancel may roll back too.
        fake_groq.faults.append(Fault(token_delay=0.05))
        run: Any = await lg.runs.create(thread_id, "threadline", input=_human(long))
        async with connect(address, "local") as chat:
            await chat.send(type="resume", conversation_id=thread_id, after_seq=0)
            await chat.until("token")
        await lg.runs.cancel(thread_id, run["run_id"], action="rollback")
        state: Any = await lg.threads.get_state(thread_id)
        assert [m["content"] for m in state["values"]["messages"]][-2:] == [
            "Reply 2: Instead",
            long,
        ]
        with pytest.raises(NotFoundError):
            await lg.runs.get(thread_id, run["run_id"])


@pytest.mark.parametrize("mode", ["api_key", "jwt"])
async def test_another_user_s_runs_are_unreachable(
    settings: Settings, database_url: str, fake_groq: FakeGroq, mode: str
) -> None:
    if mode == "jwt":
        configured = jwt_settings(settings)
        credentials = {u: {"Authorization": f"Bearer {token(u)}"} for u in ("alice", "bob")}
    else:
        configured = msgspec.structs.replace(settings, auth_mode="api_key")
        async with api_keys(database_url) as keys:
            credentials = {
                u: {"X-Api-Key": (await keys.create(u, user_id=u, admin=False)).key}
                for u in ("alice", "bob")
            }
    async with (
        serve_threadline(configured) as address,
        get_client(url=f"http://{address}", api_key=None, headers=credentials["alice"]) as alice,
        get_client(url=f"http://{address}", api_key=None, headers=credentials["bob"]) as bob,
    ):
        thread_id = (await alice.threads.create())["thread_id"]
        parts = await _stream(alice, thread_id, input=_human("Private words"))
        run_id = parts[0].data["run_id"]
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: _stream(bob, thread_id, input=_human("Let me in")),
            lambda: bob.runs.wait(thread_id, "threadline", input=_human("Let me in")),
            lambda: bob.runs.create(thread_id, "threadline", input=_human("Let me in")),
            lambda: bob.runs.list(thread_id),
            lambda: bob.runs.get(thread_id, run_id),
            lambda: bob.runs.join(thread_id, run_id),
            lambda: bob.runs.cancel(thread_id, run_id),
            lambda: _collect(bob.runs.join_stream(thread_id, run_id)),
            lambda: _stream(bob, thread_id, command={"resume": {"approved": True}}),
        ]
        for attempt in attempts:
            with pytest.raises(httpx.HTTPStatusError) as refused:  # the SDK's NotFoundError, or
                await attempt()  # httpx's own where it reconnects (wait, join)
            assert refused.value.response.status_code == 404
        alone: Any = await bob.runs.wait(None, "threadline", input=_human("Mine"))
        assert "Private words" not in str(alone)
        async with httpx.AsyncClient() as http:
            anonymous = await http.post(
                f"http://{address}/threads/{thread_id}/runs/wait",
                json={"assistant_id": "threadline", "input": _human("x")},
            )
        assert anonymous.status_code == 401
        assert len(fake_groq.requests) == 2  # alice's run and bob's stateless one, only


async def _collect(parts: AsyncIterator[StreamPart]) -> list[StreamPart]:
    return [part async for part in parts]


async def test_a_run_past_the_rate_limit_is_refused_before_anything_is_stored(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_messages=1)
    async with serve_threadline(limited) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        await _stream(lg, thread_id, input=_human("One"))
        with pytest.raises(RateLimitError) as refused:
            await _stream(lg, thread_id, input=_human("Two"))
        assert refused.value.response.json()["code"] == "rate_limited"
        state: Any = await lg.threads.get_state(thread_id)
        assert [m["content"] for m in state["values"]["messages"]] == ["One", "Reply 1: One"]


async def _until_a_token(parts: AsyncIterator[StreamPart]) -> list[StreamPart]:
    """The stream's events up to its first token (the reply has begun)."""
    had = [await anext(parts)]
    while had[-1].event != "messages":
        had.append(await anext(parts))
    return had


def _last_said(state: Any) -> str | None:
    """The text of a state's last message; None for the empty state."""
    messages = state["values"]["messages"]
    return str(messages[-1]["content"]) if messages else None


async def test_runs_from_an_earlier_checkpoint_branch_and_regenerate(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        for text in ("Hi", "Second"):
            await lg.runs.wait(thread_id, "threadline", input=_human(text))
        history: Any = await lg.threads.get_history(thread_id, limit=20)
        # As useStream finds it: the parent of the first state that holds the reply. (The
        # oldest state is empty: the one before the first message, as LangGraph's.)
        assert history[-1]["values"]["messages"] == []
        (first,) = [h for h in history if _last_said(h) == "Reply 2: Second"]
        at = first["parent_checkpoint"]["checkpoint_id"]
        # Regenerate, as LangChain's UIs do: no input, from the checkpoint before the reply.
        again = await _stream(lg, thread_id, input=None, checkpoint_id=at)
        assert _said(again) == "Reply 3: Second"
        # A message from a checkpoint is added to its state: a new branch from there.
        shown: Any = await lg.threads.get_state(thread_id, checkpoint_id=at)
        said = [m["content"] for m in shown["values"]["messages"]]
        parts = await _stream(
            lg, thread_id, input=_human("Other"), checkpoint={"checkpoint_id": at}
        )
        assert [m["content"] for m in parts[-1].data["messages"]] == [
            *said,
            "Other",
            "Reply 4: Other",
        ]
        # A state that ends with a user message (the regenerate's) gets the message after it.
        latest: Any = await lg.threads.get_history(thread_id, limit=20)
        ending = [h for h in latest if _last_said(h) == "Second"]
        parts = await _stream(
            lg, thread_id, input=_human("Third"), checkpoint=ending[0]["checkpoint"]
        )
        after = [m["content"] for m in parts[-1].data["messages"]]
        assert after == ["Hi", "Reply 1: Hi", "Second", "Third", "Reply 5: Third"]
        earliest = history[-1]["checkpoint"]["checkpoint_id"]
        with pytest.raises(UnprocessableEntityError):  # further back than the last question
            await _stream(lg, thread_id, input=None, checkpoint_id=earliest)
        with pytest.raises(UnprocessableEntityError):
            await _stream(lg, thread_id, input=_human("x"), checkpoint_id="no-such-checkpoint")
