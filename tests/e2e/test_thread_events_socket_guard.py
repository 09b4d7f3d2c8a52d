"""The thread event stream's WebSocket is held to what `/ws` is: the user's socket seats,
and a close once the credential it was opened with expires."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws

from tests.credentials import bearer, handshake, token
from tests.e2e.test_auth_matrix import jwt_settings
from tests.polling import eventually
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

_AS_ALICE = {"X-Threadline-User": "alice"}


def _path(thread_id: str) -> str:
    return f"/threads/{thread_id}/stream/events"


async def test_a_thread_event_socket_takes_one_of_the_users_seats(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, max_sockets_per_user=1)
    async with serve_threadline(limited) as address, httpx.AsyncClient() as http:
        async with aconnect_ws(
            f"ws://{address}{_path('th-1')}",
            http,
            session_class=AsyncWebSocketSession,
            headers=dict(_AS_ALICE),  # a copy: the client adds its own to what it is given
        ):
            another = await handshake(address, _path("th-2"), _AS_ALICE)
            chat = await handshake(address, "/ws/alice")
            bobs = await handshake(address, _path("th-3"), {"X-Threadline-User": "bob"})

        async def seat_given_back() -> bool:
            return (await handshake(address, _path("th-2"), _AS_ALICE)).status_code == 101

        await eventually(seat_given_back)
    assert (another.status_code, another.json()["code"]) == (429, "too_many_sockets")
    assert (chat.status_code, chat.json()["code"]) == (429, "too_many_sockets")
    assert bobs.status_code == 101


async def test_a_thread_event_socket_closes_when_its_token_expires(settings: Settings) -> None:
    async with (
        serve_threadline(jwt_settings(settings, jwt_leeway=0)) as address,
        httpx.AsyncClient() as http,
    ):
        # Made once the server is up: its start may take longer than the token lives.
        expiring = token("alice", exp=int(time.time()) + 2)
        async with aconnect_ws(
            f"ws://{address}{_path('th-1')}",
            http,
            session_class=AsyncWebSocketSession,
            headers=bearer(expiring),
        ) as ws:
            subscribe = {"id": 1, "method": "subscription.subscribe"}
            await ws.send_text(json.dumps({**subscribe, "params": {"channels": ["lifecycle"]}}))
            seen: list[dict[str, Any]] = []
            with anyio.fail_after(15):
                while not seen or seen[-1]["type"] != "error":
                    seen.append(json.loads(await ws.receive_text()))
                with pytest.raises(WebSocketDisconnect) as closed:
                    await ws.receive_text()
    assert seen[0] == {"type": "success", "id": 1, "result": {"subscription_id": "sub-1"}}
    ended = seen[-1]
    assert (ended["id"], ended["error"], ended["code"]) == (
        None,
        "permission_denied",
        "token_expired",
    )
    assert closed.value.code == 4401
