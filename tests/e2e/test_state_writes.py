"""`POST /threads/{id}/state` writes only values of the graph's state that the graph can
run with: anything else is a 422 (an unknown checkpoint a 404), and the thread goes on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

_REFUSED: list[dict[str, Any]] = [
    {"values": {"digest": 123}},
    {"values": {"digest": {"summary": "planted", "messages": 0}}},
    {"values": {"agent": "someone"}},
    {"values": {"messages": "x"}},
    {"values": {"nope": 1}},
    {"values": {"messages": [{"type": "tool", "content": "x", "tool_call_id": "nothing"}]}},
    {"values": {"messages": [{"type": "wizard", "content": "x"}]}},
]


async def test_a_state_write_the_graph_cannot_run_with_is_a_422_and_the_thread_goes_on(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address, connect(address, "local") as chat:
        cid = (await chat.turn("first")).ack["conversation_id"]
        url = f"http://{address}/threads/{cid}/state"
        async with httpx.AsyncClient(timeout=30) as http:
            refused = [await http.post(url, json=body) for body in _REFUSED]
            unknown = await http.post(
                url,
                json={
                    "values": {"messages": [{"type": "human", "content": "hi"}]},
                    "checkpoint_id": "1f0c0c1e-0000-6000-8000-000000000000",
                },
            )
            written = await http.post(
                url, json={"values": {"messages": [{"type": "human", "content": "added"}]}}
            )
        after = await chat.turn("and then")

    for body, response in zip(_REFUSED, refused, strict=True):
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == "invalid_request", (body, response.text)
        assert response.json()["detail"].startswith("values"), (body, response.text)
    assert unknown.status_code == 404, unknown.text
    assert written.status_code == 200, written.text
    assert after.reply["content"] == "Reply 2: and then"
