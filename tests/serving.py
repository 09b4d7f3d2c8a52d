"""Serve an ASGI app with uvicorn on 127.0.0.1 inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from threadline.app import create_app
from threadline.serving import uvicorn_config
from threadline.settings import Settings


@asynccontextmanager
async def serve(config: uvicorn.Config) -> AsyncIterator[str]:
    """Run uvicorn until the block exits; yields `host:port`."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            msg = "uvicorn stopped during start-up"
            raise RuntimeError(msg)
        await asyncio.sleep(0.005)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"{host}:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serve_app(app: Litestar) -> AsyncIterator[str]:
    """Serve a plain ASGI app (such as the fake Groq) on a free port."""
    async with serve(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None)) as address:
        yield address


@asynccontextmanager
async def serve_threadline(settings: Settings) -> AsyncIterator[str]:
    """Serve a new Threadline app instance exactly as the CLI configures it."""
    async with serve(uvicorn_config(create_app(settings), settings, port=0)) as address:
        yield address


async def usage_of(address: str, user_id: str) -> dict[str, Any]:
    """What the server at `address` says of `user_id`'s usage (`/users/{id}/usage`)."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/users/{user_id}/usage")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
