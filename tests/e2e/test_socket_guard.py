"""The last line of defence of a socket: a failure nobody foresaw is logged and reported."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from litestar import Litestar, WebSocket, websocket

from tests.serving import serve_app
from threadline.transport.outbox import Outbox, SendBudget
from threadline.transport.socket import guarded

pytestmark = pytest.mark.anyio


async def _fail_unforeseeably() -> None:
    raise ZeroDivisionError


@websocket("/ws")
async def fragile(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    outbox = Outbox(
        socket, max_frames=8, max_bytes=1 << 20, budget=SendBudget(1 << 20), send_timeout=1
    )
    cleaned: list[bool] = []

    async def cleanup() -> None:
        cleaned.append(True)

    await guarded(outbox, _fail_unforeseeably(), cleanup)
    assert cleaned


async def test_an_unexpected_failure_is_logged_and_reported_before_the_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Litestar([fragile], logging_config=None)
    with caplog.at_level(logging.ERROR, logger="threadline"):
        async with (
            serve_app(app) as address,
            httpx.AsyncClient() as http,
            aconnect_ws(f"ws://{address}/ws", http, session_class=AsyncWebSocketSession) as ws,
        ):
            frame: dict[str, Any] = await ws.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()

    assert frame["type"] == "error"
    assert frame["code"] == "internal_error"
    assert frame["retryable"] is False
    assert closed.value.code == 1011
    failures = [r for r in caplog.records if r.getMessage() == "socket.failed"]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[0] is ZeroDivisionError
