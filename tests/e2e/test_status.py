"""`GET /ws/users/{user_id}/status` follows the user's open sockets."""

from __future__ import annotations

import anyio
import httpx
import msgspec
import pytest
from httpx_ws import WebSocketDisconnect

from tests.polling import eventually
from tests.serving import serve_threadline
from tests.stalled import stalled_client
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def _status(address: str, user_id: str) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/ws/users/{user_id}/status")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def _wait_for(address: str, user_id: str, connections: int) -> dict[str, object]:
    """Poll for up to a second: a close is noticed by the server asynchronously."""
    for _ in range(100):
        status = await _status(address, user_id)
        if status["connections"] == connections:
            return status
        await anyio.sleep(0.01)
    return await _status(address, user_id)


async def test_status_counts_a_users_sockets_and_drops_to_false_after_close(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        before = await _status(address, "alice")
        async with connect(address, "alice") as first:
            await first.turn("hi")  # the socket is certainly accepted by now
            one = await _status(address, "alice")
            async with connect(address, "alice") as second:
                await second.turn("hi")
                two = await _status(address, "alice")
                other = await _status(address, "bob")
            after_one_close = await _wait_for(address, "alice", 1)
        after_all_closed = await _wait_for(address, "alice", 0)

    assert before == {"user_id": "alice", "connected": False, "connections": 0}
    assert one == {"user_id": "alice", "connected": True, "connections": 1}
    assert two == {"user_id": "alice", "connected": True, "connections": 2}
    assert other == {"user_id": "bob", "connected": False, "connections": 0}
    assert after_one_close == {"user_id": "alice", "connected": True, "connections": 1}
    assert after_all_closed == {"user_id": "alice", "connected": False, "connections": 0}


async def test_status_rejects_a_malformed_user_id(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/ws/users/{'x' * 200}/status")

    assert response.status_code == 400
    assert "user_id" in response.text


@pytest.mark.parametrize("user_id", ["bad user!", "alice%0A"])
async def test_a_socket_with_a_malformed_user_id_is_told_why_and_closed(
    settings: Settings, user_id: str
) -> None:
    async with serve_threadline(settings) as address, connect(address, user_id) as chat:
        error = await chat.receive()
        with pytest.raises(WebSocketDisconnect) as closed:
            await chat.receive()

    assert error["code"] == "invalid_frame"
    assert "user_id must be" in error["detail"]
    assert closed.value.code == 1008


async def test_a_client_that_stops_answering_pings_is_closed_and_a_live_one_is_kept(
    settings: Settings,
) -> None:
    pinging = msgspec.structs.replace(settings, ws_ping_interval=0.2, ws_ping_timeout=0.3)

    async def bob_is_gone() -> bool:
        return (await _status(address, "bob"))["connections"] == 0

    async with (
        serve_threadline(pinging) as address,
        connect(address, "alice"),
        stalled_client(address, "bob"),
    ):
        assert (await _status(address, "bob"))["connections"] == 1
        await eventually(bob_is_gone)  # a few ping intervals
        # alice's client answers the pings: after as long, her socket is still open.
        assert (await _status(address, "alice"))["connections"] == 1
