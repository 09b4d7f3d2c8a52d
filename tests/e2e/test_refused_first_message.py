"""A first message a limit refuses leaves no conversation behind, on every surface that
makes a conversation under the client's id (AG-UI, the AI SDK, the thread event stream)."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _sse_data(text: str) -> list[Any]:
    lines = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    return [msgspec.json.decode(line) for line in lines if line != "[DONE]"]


@pytest.mark.parametrize("limit", ["rate", "quota"])
async def test_a_refused_first_message_leaves_no_conversation(
    settings: Settings, limit: str
) -> None:
    limited = msgspec.structs.replace(
        settings,
        **(
            {"rate_limit_messages": 1}
            if limit == "rate"
            else {"daily_token_quota": 2, "groq_max_tokens": 1}
        ),
    )
    code = "rate_limited" if limit == "rate" else "quota_exceeded"
    async with serve_threadline(limited) as address, httpx.AsyncClient(timeout=30) as http:
        base = f"http://{address}"
        if limit == "rate":  # the one message allowed this minute (a 2-token quota: none)
            async with connect(address, "local") as chat:
                await chat.turn("the one allowed")
        ag_ui = await http.post(
            f"{base}/ag-ui",
            json={
                "threadId": "new-ag-ui",
                "runId": "r",
                "messages": [{"id": "u", "role": "user", "content": "hi"}],
            },
        )
        ai_sdk = await http.post(
            f"{base}/ai-sdk/chat",
            json={
                "id": "new-ai-sdk",
                "messages": [
                    {"id": "m", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
                ],
                "trigger": "submit-message",
            },
        )
        run = {"input": {"messages": [{"type": "human", "content": "hi"}]}}
        command = {"id": 1, "method": "run.start", "params": run}
        events = await http.post(f"{base}/threads/new-events/commands", json=command)
        listed = await http.get(f"{base}/users/local/conversations")

    run_error = [e for e in _sse_data(ag_ui.text) if e["type"] == "RUN_ERROR"]
    assert [e["code"] for e in run_error] == [code], ag_ui.text
    [chunk] = _sse_data(ai_sdk.text)
    assert chunk["errorText"].startswith(f"{code}: "), chunk
    assert events.json()["code"] == code, events.text
    assert len(listed.json()["items"]) == (1 if limit == "rate" else 0), listed.json()


async def test_a_limit_tells_when_to_retry_in_each_protocols_shape(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_messages=1)
    async with serve_threadline(limited) as address, httpx.AsyncClient(timeout=30) as http:
        base = f"http://{address}"
        async with connect(address, "local") as chat:
            turn = await chat.turn("the one allowed")
        cid = turn.ack["conversation_id"]
        langgraph = await http.post(
            f"{base}/threads/{cid}/runs/wait",
            json={
                "assistant_id": "threadline",
                "input": {"messages": [{"type": "human", "content": "hi"}]},
            },
        )
        edited = await http.post(
            f"{base}/users/local/conversations/{cid}/messages/{turn.ack['message_id']}/edit",
            json={"message": "again"},
        )
        ag_ui = await http.post(
            f"{base}/ag-ui",
            json={
                "threadId": "ag",
                "runId": "r",
                "messages": [{"id": "u", "role": "user", "content": "hi"}],
            },
        )
        ai_sdk = await http.post(
            f"{base}/ai-sdk/chat",
            json={
                "id": "sdk",
                "messages": [
                    {"id": "m", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
                ],
                "trigger": "submit-message",
            },
        )

    for response in (langgraph, edited):
        assert response.status_code == 429, response.text
        body = response.json()
        assert body["code"] == "rate_limited"
        assert 1 <= body["retry_after"] <= 60, body
        assert response.headers["retry-after"] == str(body["retry_after"])
    [run_error] = [e for e in _sse_data(ag_ui.text) if e["type"] == "RUN_ERROR"]
    assert run_error["code"] == "rate_limited"
    assert 1 <= run_error["retryAfter"] <= 60, run_error
    [chunk] = _sse_data(ai_sdk.text)
    assert chunk["errorText"].startswith("rate_limited: ")
    assert 1 <= chunk["retryAfter"] <= 60, chunk


async def test_an_id_another_user_holds_is_refused_as_taken_before_any_limit(
    settings: Settings,
) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_messages=1)
    alice, bob = ({"X-Threadline-User": user} for user in ("alice", "bob"))
    chat = {
        "id": "held-by-alice",
        "messages": [{"id": "m", "role": "user", "parts": [{"type": "text", "text": "hi"}]}],
        "trigger": "submit-message",
    }
    async with serve_threadline(limited) as address, httpx.AsyncClient(timeout=30) as http:
        url = f"http://{address}/ai-sdk/chat"
        held = await http.post(url, json=chat, headers=alice)
        taken = await http.post(url, json=chat, headers=bob)
        # Bob's one message of the minute was not spent on the refusal.
        own = await http.post(url, json={**chat, "id": "bobs-own"}, headers=bob)
    assert not [c for c in _sse_data(held.text) if c["type"] == "error"], held.text
    [chunk] = _sse_data(taken.text)
    assert chunk["errorText"].startswith("conversation_exists: "), chunk
    assert not [c for c in _sse_data(own.text) if c["type"] == "error"], own.text
