"""AG-UI's own client (`@ag-ui/client`'s HttpAgent, from npm, run with node) against a served
Threadline's `/ag-ui`: runs streamed in the order the client checks, the thread kept by
Threadline and shared with the WebSocket, approvals answered with `resume`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec
import pytest

from tests.credentials import api_keys
from tests.fake_groq import FakeGroq, Fault
from tests.interrupt_graphs import FORM
from tests.nodejs import run_node
from tests.polling import eventually
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

Run = dict[str, Any]


def _user(text: str, message_id: str | None = None) -> dict[str, Any]:
    return {"id": message_id or str(uuid.uuid4()), "role": "user", "content": text}


async def _runs(
    address: str,
    steps: list[dict[str, Any]],
    *,
    thread_id: str = "",
    headers: dict[str, str] | None = None,
    path: str = "/ag-ui",
) -> tuple[str, list[Run]]:
    seen = await run_node(
        "ag_ui_runs.mjs",
        AGUI_URL=f"http://{address}{path}",
        AGUI_STEPS=msgspec.json.encode(steps).decode(),
        AGUI_THREAD=thread_id,
        AGUI_HEADERS=msgspec.json.encode(headers or {}).decode(),
    )
    return seen["threadId"], seen["runs"]


def _types(run: Run) -> list[str]:
    return [event["type"] for event in run["events"]]


def _text(run: Run) -> str:
    return "".join(e["delta"] for e in run["events"] if e["type"] == "TEXT_MESSAGE_CONTENT")


def _finished(run: Run) -> dict[str, Any]:
    assert run["error"] is None, run["error"]
    last: dict[str, Any] = run["events"][-1]
    assert last["type"] == "RUN_FINISHED", _types(run)
    return last


async def test_a_reply_is_streamed_in_order_and_the_thread_is_kept(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        thread_id, (run,) = await _runs(address, [{"add": [_user("Hello there")]}])
    assert run["error"] is None, run["error"]
    assert _types(run) == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        *["TEXT_MESSAGE_CONTENT"] * 4,  # word by word
        "TEXT_MESSAGE_END",
        "MESSAGES_SNAPSHOT",
        "RUN_FINISHED",
    ]
    assert _text(run) == "Reply 1: Hello there"
    started, finished = run["events"][0], _finished(run)
    assert (started["threadId"], finished["threadId"]) == (thread_id, thread_id)
    assert finished["outcome"] == {"type": "success"}
    assert finished["result"]["context"]["messages_total"] == 2
    snapshot = run["events"][-2]["messages"]
    assert [(m["role"], m["content"]) for m in snapshot] == [
        ("user", "Hello there"),
        ("assistant", "Reply 1: Hello there"),
    ]
    # The client's list is the stored thread, under the ids the client gave and was given.
    assert [m["id"] for m in run["messages"]] == [m["id"] for m in snapshot]


async def test_the_websocket_continues_an_ag_ui_thread_and_ag_ui_a_websocket_one(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        thread_id, (first,) = await _runs(address, [{"add": [_user("From AG-UI")]}])
        assert _text(first) == "Reply 1: From AG-UI"
        async with connect(address, "local") as chat:
            turn = await chat.turn("From the socket", thread_id)
            assert turn.reply["content"] == "Reply 2: From the socket"
            made = await chat.turn("Started on the socket")
        # A run with nothing new brings the client up to date; then it goes on.
        steps = [{"setMessages": first["messages"]}, {"add": [_user("Back on AG-UI")]}]
        _, (caught_up, went_on) = await _runs(address, steps, thread_id=thread_id)
        _, (loaded, answered) = await _runs(
            address, [{}, {"add": [_user("Now on AG-UI")]}], thread_id=made.ack["conversation_id"]
        )
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    assert _types(caught_up) == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "RUN_FINISHED"]
    assert [m["content"] for m in caught_up["messages"]] == [
        "From AG-UI",
        "Reply 1: From AG-UI",
        "From the socket",
        "Reply 2: From the socket",
    ]
    assert _text(went_on) == "Reply 4: Back on AG-UI"
    assert [m["content"] for m in stored] == [m["content"] for m in went_on["messages"]]
    assert [m["content"] for m in loaded["messages"]] == [
        "Started on the socket",
        "Reply 3: Started on the socket",
    ]
    assert _text(answered) == "Reply 5: Now on AG-UI"
    # The model saw the whole thread, whichever edge said what.
    assert fake_groq.user_turns(3)[1:] == [
        "user: From AG-UI",
        "assistant: Reply 1: From AG-UI",
        "user: From the socket",
        "assistant: Reply 2: From the socket",
        "user: Back on AG-UI",
    ]


async def test_a_resend_is_stored_once_and_answered_with_the_stored_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    hello = _user("Hello once")
    async with serve_threadline(settings) as address:
        thread_id, (first, again) = await _runs(
            address, [{"add": [hello]}, {"setMessages": [hello]}]
        )
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    assert _text(first) == _text(again) == "Reply 1: Hello once"
    assert len(fake_groq.requests) == 1  # answered from storage, not by the model again
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "Hello once"),
        ("assistant", "Reply 1: Hello once"),
    ]
    assert stored[0]["client_message_id"] == hello["id"]
    assert again["messages"] == first["messages"]


async def test_a_list_that_contradicts_the_stored_thread_is_a_run_error(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    hello = _user("The original")
    changed = {**hello, "content": "Rewritten"}
    steps = [
        {"add": [hello]},
        {"setMessages": [changed, _user("And more")]},  # an earlier message changed
        {"setMessages": [_user("Only a new one")]},  # the stored ones left out
    ]
    async with serve_threadline(settings) as address:
        thread_id, (_, rewritten, forgot) = await _runs(address, steps)
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    for run in (rewritten, forgot):
        assert _types(run) == ["RUN_ERROR"], run
        assert run["events"][0]["code"] == "history_mismatch"
    assert [m["content"] for m in stored] == ["The original", "Reply 1: The original"]
    assert len(fake_groq.requests) == 1


@pytest.mark.parametrize("mode", ["none", "api_key"])
async def test_another_users_thread_id_is_taken_and_an_answer_to_it_looks_missing(
    settings: Settings, database_url: str, mode: str
) -> None:
    headers = {user: {"X-Threadline-User": user} for user in ("alice", "bob")}
    if mode == "api_key":
        settings = msgspec.structs.replace(settings, auth_mode="api_key")
        async with api_keys(database_url) as keys:
            for user in ("alice", "bob"):
                headers[user] = {
                    "X-Api-Key": (await keys.create(user, user_id=user, admin=False)).key
                }
    answer = [{"resume": [{"interruptId": "nothing", "status": "resolved"}]}]
    async with serve_threadline(settings) as address:
        thread_id, _ = await _runs(address, [{"add": [_user("Mine")]}], headers=headers["alice"])
        _, (taken,) = await _runs(
            address, [{"add": [_user("Let me in")]}], thread_id=thread_id, headers=headers["bob"]
        )
        _, (resumed,) = await _runs(address, answer, thread_id=thread_id, headers=headers["bob"])
        _, (missing,) = await _runs(address, answer, thread_id="no-such", headers=headers["bob"])
        async with connect(address, "alice", headers=headers["alice"]) as chat:
            stored = await chat.history(thread_id)
    for run in (taken, resumed, missing):
        assert _types(run) == ["RUN_ERROR"], run
    # A thread id is global: a taken one is refused, as LangGraph's POST /threads does;
    # an answer to another user's thread finds nothing, as for a missing one.
    assert taken["events"][0]["code"] == "conversation_exists"
    assert resumed["events"] == missing["events"]
    assert missing["events"][0]["code"] == "conversation_not_found"
    assert [m["content"] for m in stored] == ["Mine", "Reply 1: Mine"]


async def test_a_body_that_is_not_a_run_agent_input_is_a_422_with_a_code(
    settings: Settings,
) -> None:
    good = {"threadId": "t-1", "runId": "r-1", "messages": [_user("Hi")]}
    bodies = {
        "runId": {"threadId": "t-1", "messages": []},
        "messages.0.content": {**good, "messages": [_user("   ")]},
        "threadId": {**good, "threadId": "not/an/id"},
        "messages.0": {**good, "messages": [{"id": "m", "role": "wizard", "content": "x"}]},
    }
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        answers = {
            field: await http.post(f"http://{address}/ag-ui", json=body)
            for field, body in bodies.items()
        }
        not_json = await http.post(
            f"http://{address}/ag-ui",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        unknown = await http.post(f"http://{address}/ag-ui/no-such-graph", json=good)
    for field, response in answers.items():
        assert response.status_code == 422, (field, response.text)
        body = response.json()
        assert body["code"] == "invalid_request", body
        assert body["field"].startswith(field), body
    assert not_json.status_code == 422, not_json.text
    assert not_json.json()["code"] == "invalid_request"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_assistant"


def _approving(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, approve_tools="calculator")


@pytest.mark.parametrize(("approved", "result"), [(True, "6 * 7 = 42"), (False, "denied")])
async def test_an_approval_ends_the_run_as_an_interrupt_and_resume_answers_it(
    settings: Settings, fake_groq: FakeGroq, approved: bool, result: str
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    steps: list[dict[str, Any]] = [
        {"add": [_user("What is 6 * 7?")]},
        {"answer": {"status": "resolved", "payload": {"approved": approved}}},
    ]
    async with serve_threadline(_approving(settings)) as address:
        thread_id, (paused, resumed) = await _runs(address, steps)
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    assert _types(paused) == [
        "RUN_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "MESSAGES_SNAPSHOT",
        "RUN_FINISHED",
    ]
    call = paused["events"][1]
    assert call["toolCallName"] == "calculator"
    assert paused["events"][2]["delta"] == '{"expression":"6 * 7"}'
    (interrupt,) = _finished(paused)["outcome"]["interrupts"]
    assert interrupt["id"] == interrupt["toolCallId"] == call["toolCallId"]
    assert interrupt["reason"] == "tool_approval"
    assert interrupt["metadata"] == {"name": "calculator", "args": {"expression": "6 * 7"}}
    assert paused["pendingInterrupts"] == [interrupt]
    # Paused: the tool has not run, nothing answers the call yet.
    assert [m["role"] for m in paused["events"][-2]["messages"]] == ["user", "assistant"]

    assert _finished(resumed)["outcome"] == {"type": "success"}
    assert _types(resumed)[:2] == ["RUN_STARTED", "TOOL_CALL_RESULT"]
    tool_result = resumed["events"][1]
    assert tool_result["toolCallId"] == call["toolCallId"]
    assert result in tool_result["content"]
    assert _text(resumed) == f"Tools said: {tool_result['content']}"
    assert resumed["pendingInterrupts"] == []
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert [m["id"] for m in resumed["messages"]] == [
        stored[0]["client_message_id"],
        *[m["message_id"] for m in stored[1:]],
    ]
    assert stored[2]["message_id"] == tool_result["messageId"]


async def test_a_reloaded_page_that_brings_nothing_to_a_paused_thread_is_told_it_waits(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    async with serve_threadline(_approving(settings)) as address:
        thread_id, (paused,) = await _runs(address, [{"add": [_user("What is 6 * 7?")]}])
        # A new agent on the thread (the page reloaded): its messages, nothing it waits for.
        reload = [{"setMessages": paused["messages"]}]
        _, (again,) = await _runs(address, reload, thread_id=thread_id)
    (interrupt,) = _finished(paused)["outcome"]["interrupts"]
    # No turn ran: the thread still waits, and the run says so as the first one did.
    assert _types(again) == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "RUN_FINISHED"]
    assert _finished(again)["outcome"]["interrupts"] == [interrupt]
    assert again["pendingInterrupts"] == [interrupt]
    assert [m["role"] for m in again["messages"]] == ["user", "assistant"]
    assert len(fake_groq.requests) == 1  # the model was not asked again


async def test_a_named_assistant_runs_and_a_resume_of_nothing_is_a_run_error(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    steps: list[dict[str, Any]] = [
        {"add": [_user("Hi, graph")]},
        {"resume": [{"interruptId": "call_none", "status": "resolved", "payload": True}]},
    ]
    async with serve_threadline(settings) as address:
        thread_id, (ran, resumed) = await _runs(address, steps, path="/ag-ui/threadline")
        async with httpx.AsyncClient() as http:
            thread = (await http.get(f"http://{address}/threads/{thread_id}")).json()
    assert _text(ran) == "Reply 1: Hi, graph"
    assert thread["status"] == "idle"
    assert _types(resumed) == ["RUN_ERROR"]
    assert resumed["events"][0]["code"] == "nothing_to_approve"


async def test_a_tool_call_and_its_result_are_streamed_and_the_thread_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "12 * 7"})])
    steps = [{"add": [_user("What is 12 * 7?")]}, {"add": [_user("Thanks")]}]
    async with serve_threadline(settings) as address:
        thread_id, (ran, went_on) = await _runs(address, steps)
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    assert _types(ran)[:5] == [
        "RUN_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    start, _, _, result = ran["events"][1:5]
    assert start["parentMessageId"] == stored[1]["message_id"]
    assert (result["toolCallId"], result["content"]) == (start["toolCallId"], "12 * 7 = 84")
    assert result["messageId"] == stored[2]["message_id"]
    assert _text(ran) == "Tools said: 12 * 7 = 84"
    # The client's list is the stored thread, in order: the next run adds to it.
    assert [m["role"] for m in ran["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert [m["id"] for m in ran["messages"][1:]] == [m["message_id"] for m in stored[1:4]]
    assert ran["messages"][1]["toolCalls"][0]["function"] == {
        "name": "calculator",
        "arguments": '{"expression":"12 * 7"}',
    }
    assert _text(went_on) == "Reply 3: Thanks"
    roles = ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m["role"] for m in stored] == roles


@pytest.mark.parametrize(("on_disconnect", "stopped"), [("continue", False), ("cancel", True)])
async def test_a_client_that_leaves_mid_reply_leaves_its_turn_to_on_disconnect(
    settings: Settings, fake_groq: FakeGroq, on_disconnect: str, stopped: bool
) -> None:
    settings = msgspec.structs.replace(settings, on_disconnect=on_disconnect)
    fake_groq.faults.append(Fault(token_delay=0.05))
    text = " ".join(["word"] * 40)
    body = {"threadId": "left-early", "runId": "r-1", "messages": [_user(text)]}
    stored: list[dict[str, Any]] = []
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        request = http.build_request("POST", f"http://{address}/ag-ui", json=body)
        response = await http.send(request, stream=True)
        async for line in response.aiter_lines():
            if "TEXT_MESSAGE_CONTENT" in line:
                break  # the reply is streaming: leave
        await response.aclose()

        async def ended() -> bool:
            # Read over REST: a socket's `resume` would make it a listener of the turn.
            stored[:] = await _stored(http, address, "left-early")
            return len(stored) == 2

        await eventually(ended, within=30)
    user, reply = stored
    assert (user["role"], user["content"]) == ("user", text)
    assert reply["role"] == "assistant"
    assert reply.get("stopped", False) is stopped
    assert (reply["content"] == f"Reply 1: {text}") is not stopped


async def _stored(http: httpx.AsyncClient, address: str, thread_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"http://{address}/users/local/conversations/{thread_id}")
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def test_a_graphs_question_is_an_interrupt_and_resume_brings_it_the_answer(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    settings = msgspec.structs.replace(settings, graph="tests.interrupt_graphs:ask_dict")
    steps: list[dict[str, Any]] = [
        {"add": [_user("transfer $5 to bob")]},
        {"answer": {"status": "resolved", "payload": {"amount": 10}}},
    ]
    async with serve_threadline(settings) as address:
        _, (asked, answered) = await _runs(address, steps)
    (interrupt,) = _finished(asked)["outcome"]["interrupts"]
    assert interrupt["reason"] == "input_required"
    assert interrupt["metadata"] == {"value": FORM}
    assert "toolCallId" not in interrupt
    assert _finished(answered)["outcome"] == {"type": "success"}
    assert fake_groq.user_turns()[-1] == 'user: The user answered: {"amount": 10}'
    assert [m["role"] for m in answered["messages"]] == ["user", "assistant"]


WEATHER = {
    "name": "show_weather",
    "description": "Show the weather of a city in the page",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


async def test_a_front_end_tool_is_called_by_the_model_and_its_result_continues_the_turn(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("show_weather", {"city": "Paris"})])
    steps: list[dict[str, Any]] = [
        {"add": [_user("Weather in Paris?")], "tools": [WEATHER]},
        {"toolResult": "Sunny, 21 C", "tools": [WEATHER]},
    ]
    async with serve_threadline(settings) as address:
        thread_id, (called, answered) = await _runs(address, steps)
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    # The model was offered the page's tool beside the server's; its call ends the run.
    offered = [t["function"]["name"] for t in fake_groq.requests[0]["tools"]]
    assert "show_weather" in offered
    assert "calculator" in offered
    assert _types(called) == [
        "RUN_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "MESSAGES_SNAPSHOT",
        "RUN_FINISHED",
    ]
    call = called["events"][1]
    assert call["toolCallName"] == "show_weather"
    assert _finished(called)["outcome"] == {
        "type": "success",
        "pendingToolCallIds": [call["toolCallId"]],
    }
    # Not run by the server: the next run brings its result, and the model answers on.
    assert _text(answered) == "Tools said: Sunny, 21 C"
    assert fake_groq.user_turns(1)[1:] == [
        "user: Weather in Paris?",
        "assistant: None",  # its tool call, with no text
        "tool: Sunny, 21 C",
    ]
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "Weather in Paris?"),
        ("assistant", ""),
        ("tool", "Sunny, 21 C"),
        ("assistant", "Tools said: Sunny, 21 C"),
    ]
    assert stored[2]["tool_call_id"] == call["toolCallId"]
    assert [m["id"] for m in answered["messages"]][1:] == [m["message_id"] for m in stored[1:]]


async def test_a_message_instead_of_the_front_end_tools_result_is_refused(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("show_weather", {"city": "Oslo"})])
    steps: list[dict[str, Any]] = [
        {"add": [_user("Weather in Oslo?")], "tools": [WEATHER]},
        {"add": [_user("Never mind")], "tools": [WEATHER]},
    ]
    async with serve_threadline(settings) as address:
        thread_id, (called, skipped) = await _runs(address, steps)
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    assert _types(skipped) == ["RUN_ERROR"]
    assert skipped["events"][0]["code"] == "history_mismatch"
    assert called["events"][1]["toolCallId"] in skipped["events"][0]["message"]
    assert len(fake_groq.requests) == 1  # nothing stored, nothing asked of the model
    assert [m["role"] for m in stored] == ["user", "assistant"]


async def test_a_cancelled_interrupt_ends_the_paused_run_and_the_thread_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "1 + 1"})])
    steps: list[dict[str, Any]] = [
        {"add": [_user("What is 1 + 1?")]},
        {"answer": {"status": "cancelled"}},
        {"add": [_user("Something else")]},
    ]
    async with serve_threadline(_approving(settings)) as address:
        thread_id, (_, cancelled, went_on) = await _runs(address, steps)
        async with connect(address, "local") as chat:
            stored = await chat.history(thread_id)
    assert _finished(cancelled)["outcome"] == {"type": "success"}
    assert cancelled["pendingInterrupts"] == []
    # The calls' error results were never streamed: a first snapshot takes back what the
    # run added, so the second puts the stored thread in the client's list in order.
    assert _types(cancelled)[-3:] == ["MESSAGES_SNAPSHOT", "MESSAGES_SNAPSHOT", "RUN_FINISHED"]
    assert [m["role"] for m in cancelled["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert _text(went_on) == "Reply 2: Something else"
    roles = ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m["role"] for m in stored] == roles
    assert stored[3]["stopped"] is True


async def test_a_front_end_call_beside_a_server_call_is_answered_by_the_server(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    calls = [("show_weather", {"city": "Rome"}), ("calculator", {"expression": "2 + 2"})]
    fake_groq.tool_calls.append(calls)
    steps = [{"add": [_user("Weather in Rome, and 2 + 2?")], "tools": [WEATHER]}]
    async with serve_threadline(settings) as address:
        _, (ran,) = await _runs(address, steps)
    results = [e for e in ran["events"] if e["type"] == "TOOL_CALL_RESULT"]
    assert len(results) == 2  # nothing is left waiting on the page
    assert "2 + 2 = 4" in results[1]["content"]
    assert _finished(ran)["outcome"] == {"type": "success"}
    assert _text(ran).startswith("Tools said: ")
