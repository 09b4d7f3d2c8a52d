"""An answer of unknown shape to an approval is refused before it reaches the graph (it
was read as a denial): the approval stays pending and can still be answered."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_malformed_approval_answer_is_refused_and_the_call_still_waits(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    fake_groq.tool_calls.append([("calculator", {"expression": "2 + 3"})])
    async with serve_threadline(approving) as address, connect(address, "local") as chat:
        await chat.send(message="what is 2 + 3?")
        ack, call, asked = await chat.until_any("approval_required", "message", "error")
        assert asked["type"] == "approval_required", asked
        cid = ack["conversation_id"]
        refused = [
            await chat.error(
                type="respond", conversation_id=cid, interrupt_id=asked["interrupt_id"], value=value
            )
            for value in ({"approved": "yes"}, "garbage", {"decisions": "approve"})
        ]
        async with httpx.AsyncClient(timeout=30) as http:
            resumed = await http.post(
                f"http://{address}/threads/{cid}/runs/wait",
                json={"assistant_id": "threadline", "command": {"resume": "garbage"}},
            )
            pending = (await http.get(f"http://{address}/users/local/conversations/{cid}")).json()
        await chat.send(type="approve", conversation_id=cid, tool_call_id=call["tool_call_id"])
        frames = await chat.until("message")

    assert [r["code"] for r in refused] == ["invalid_frame"] * 3, refused
    assert all("approved" in r["detail"] for r in refused), refused
    assert resumed.status_code == 422, resumed.text
    assert resumed.json()["code"] == "invalid_request"
    assert pending["pending_approval"]["tool_call_id"] == call["tool_call_id"]
    result = frames[0]
    assert (result["type"], result["is_error"], result["content"]) == (
        "tool_result",
        False,
        "2 + 3 = 5",
    )
