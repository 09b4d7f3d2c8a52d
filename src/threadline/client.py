"""A smoke-test client: `python -m threadline.client --user alice "Hello"`.

Connects, sends one message, prints the reply as it streams, and prints the
conversation id so the next call can continue it with `--conversation`. Without `--url`
it connects where the server listens: HOST and PORT from the environment or `.env`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx
import msgspec
from httpx_ws import AsyncWebSocketSession, HTTPXWSException, WebSocketUpgradeError, aconnect_ws

from threadline.terminal.connection import default_url

__all__ = ("chat", "default_url", "main")


async def chat(
    url: str, user: str, message: str, conversation: str | None, token: str | None = None
) -> int:
    """Send one message and stream the reply to stdout.

    Args:
        url: The server's base WebSocket URL, e.g. `ws://localhost:8000`.
        user: The user id to connect as.
        message: The message to send.
        conversation: A conversation to continue, or None to start one.
        token: An API key or JWT, sent as `Authorization: Bearer`, when the server wants one.

    Returns:
        A process exit code: 0 on a reply, 1 on an error frame.
    """
    frame: dict[str, str] = {"message": message}
    if conversation:
        frame["conversation_id"] = conversation
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient() as client,
        aconnect_ws(
            f"{url}/ws/{user}", client, session_class=AsyncWebSocketSession, headers=headers
        ) as ws,
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
    parser.add_argument(
        "--url", help="server base URL (default: ws://HOST:PORT from the environment or .env)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("THREADLINE_TOKEN"),
        help="API key or JWT, when AUTH_MODE asks for one (default: $THREADLINE_TOKEN)",
    )
    args = parser.parse_args(argv)
    url = args.url or default_url(os.environ)
    try:
        code = asyncio.run(chat(url, args.user, args.message, args.conversation, args.token))
    except WebSocketUpgradeError as refused:
        status = refused.response.status_code
        print(f"error: Threadline refused the connection (HTTP {status})", file=sys.stderr)
        code = 1
    except (OSError, httpx.HTTPError, HTTPXWSException) as error:
        reason = str(error) or type(error).__name__
        print(f"error: cannot reach Threadline at {url}: {reason}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
