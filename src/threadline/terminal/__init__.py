"""`threadline chat`: an interactive chat client for the terminal."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from threadline.terminal.connection import Target, default_url
from threadline.terminal.screen import Screen
from threadline.terminal.session import TerminalChat

__all__ = ("chat_command", "chat_parser")


def chat_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `chat` and its options to the `threadline` command."""
    parser = commands.add_parser("chat", help="chat in this terminal with a running server")
    parser.add_argument("--user", default="alice", help="user id to chat as (default: alice)")
    parser.add_argument(
        "--url", help="server base URL (default: ws://HOST:PORT from the environment or .env)"
    )
    parser.add_argument("--conversation", help="conversation id to continue")
    parser.add_argument(
        "--token",
        default=os.environ.get("THREADLINE_TOKEN"),
        help="API key or JWT, when AUTH_MODE asks for one (default: $THREADLINE_TOKEN)",
    )


def chat_command(args: argparse.Namespace) -> int:
    """Run an interactive chat until /quit; returns the process exit code."""
    url = (args.url or default_url(os.environ)).rstrip("/")
    if url.startswith("http"):
        url = "ws" + url.removeprefix("http")  # http:// → ws://, https:// → wss://
    target = Target(url, args.user, args.token)
    return asyncio.run(TerminalChat(target, Screen(sys.stdout), args.conversation).run())
