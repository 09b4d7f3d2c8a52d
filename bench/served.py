"""The simplest served chatbot: what a team that does not pick Threadline writes instead.

    python -m bench.served --port PORT --database-url URL [--defaults] [--pool N]
                           [--groq-base URL]

One Litestar WebSocket route (`/ws/{user}`), served by uvicorn with Threadline's own
settings (`threadline.serving.uvicorn_config`: per-message deflate off, the same frame
limits); a `MessagesState` graph with one node that calls the same model; the official
`AsyncPostgresSaver` on one pool; the reply streamed with
`graph.astream(stream_mode="messages")`, one JSON frame per token, an ack first and the
whole message last. No authentication, leases, idempotency, summary, fan-out or limits.
It speaks the subset of Threadline's protocol that `bench/clients.py` uses, so the same
load drives both.

Tuned (the default): `durability="exit"` and the saver's lock relaxed. `--defaults`:
LangGraph's defaults (`durability="async"`, the saver's lock).
"""

from __future__ import annotations

import argparse
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from langchain_core.messages import AIMessageChunk, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.types import Durability
from litestar import Litestar, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bench.engine import _model, _NoLock, _simple_graph
from threadline.serving import uvicorn_config
from threadline.settings import Settings


def build_app(args: argparse.Namespace) -> Litestar:
    """The chatbot's app: its pool, saver and graph made in the lifespan."""
    durability: Durability = "async" if args.defaults else "exit"
    held: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        async with AsyncConnectionPool(
            args.database_url, min_size=args.pool, max_size=args.pool, kwargs=kwargs
        ) as pool:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            if not args.defaults:
                saver.lock = _NoLock()  # type: ignore[assignment]
            await saver.setup()
            held["graph"] = _simple_graph(_model(args.groq_base), saver)
            gc.collect()
            gc.freeze()  # as Threadline's server does once started
            yield

    @websocket("/ws/{user:str}")
    async def chat(socket: WebSocket[Any, Any, Any], user: str) -> None:  # noqa: ARG001
        await socket.accept()
        try:
            while True:
                frame = await socket.receive_json()
                await _turn(socket, held["graph"], frame, durability)
        except WebSocketDisconnect:
            return

    # Quiet, as Threadline runs (LOG_LEVEL=WARNING): no line per socket.
    return Litestar([chat], lifespan=[lifespan], logging_config=None)


async def _turn(
    socket: WebSocket[Any, Any, Any], graph: Any, frame: dict[str, Any], durability: Durability
) -> None:
    """One turn: ack, a frame per token, then the whole message."""
    conversation_id = frame.get("conversation_id") or uuid.uuid4().hex
    await socket.send_json({"type": "ack", "conversation_id": conversation_id})
    config = {"configurable": {"thread_id": conversation_id}}
    inputs = {"messages": [HumanMessage(frame["message"])]}
    parts: list[str] = []
    async for chunk, _ in graph.astream(
        inputs, config, stream_mode="messages", durability=durability
    ):
        if isinstance(chunk, AIMessageChunk) and chunk.content:
            parts.append(str(chunk.content))
            await socket.send_json({"type": "token", "delta": chunk.content, "seq": len(parts)})
    reply = "".join(parts)
    await socket.send_json(
        {"type": "message", "conversation_id": conversation_id, "content": reply}
    )


def main() -> None:
    """Parse arguments and serve until terminated."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--defaults", action="store_true", help="LangGraph's defaults")
    parser.add_argument("--pool", type=int, default=20)
    parser.add_argument("--groq-base")
    args = parser.parse_args()
    settings = Settings(host="127.0.0.1", port=args.port)
    logging.basicConfig(level=logging.WARNING)
    uvicorn.Server(uvicorn_config(build_app(args), settings)).run()


if __name__ == "__main__":
    main()
