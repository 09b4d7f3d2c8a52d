"""A smoke-test client: `python -m threadline.client --user alice "Hello"`.

Connects, sends one message, prints the reply as it streams, and prints the
conversation id so the next call can continue it with `--conversation`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx
import msgspec
from httpx_ws import AsyncWebSocketSession, aconnect_ws

__all__ = ("chat", "main")


async def chat(url: str, user: str, message: str, conversation: str | None) -> int:
    """Send one message and stream the reply to stdout.

    Args:
        url: The server's base WebSocket URL, e.g. `ws://localhost:8000`.
        user: The user id to connect as.
        message: The message to send.
        conversation: A conversation to continue, or None to start one.

    Returns:
        A process exit code: 0 on a reply, 1 on an error frame.
    """
    frame: dict[str, str] = {"message": message}
    if conversation:
        frame["conversation_id"] = conversation
    async with (
        httpx.AsyncClient() as client,
        aconnect_ws(f"{url}/ws/{user}", client, session_class=AsyncWebSocketSession) as ws,
    ):
        await ws.send_text(msgspec.json.encode(frame).decode())
        while True:
            reply = msgspec.json.decode(await ws.receive_text())
            kind = reply["type"]
            if kind == "ack":
                print(f"[conversation {reply['conversation_id']}]", file=sys.stderr)
            elif kind == "token":
                print(reply["delta"], end="", flush=True)
            elif kind == "message":
                print(f"\n[{reply['model']}]", file=sys.stderr)
                return 0
            elif kind == "error":
                print(f"error {reply['code']}: {reply['detail']}", file=sys.stderr)
                return 1


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run one exchange."""
    parser = argparse.ArgumentParser(prog="python -m threadline.client", description=__doc__)
    parser.add_argument("message", help="what to say")
    parser.add_argument("--user", default="alice", help="user id (default: alice)")
    parser.add_argument("--conversation", help="conversation id to continue")
    parser.add_argument("--url", default="ws://localhost:8000", help="server base URL")
    args = parser.parse_args(argv)
    sys.exit(asyncio.run(chat(args.url, args.user, args.message, args.conversation)))


if __name__ == "__main__":
    main()
