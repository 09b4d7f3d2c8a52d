"""`threadline`: serve (one process, or `WORKERS` of them), `dev`, manage API keys, or chat."""

from __future__ import annotations

import argparse
import sys

from threadline.cli_keys import api_key_command, api_key_parser
from threadline.dev import LOG_LEVEL, serve_dev
from threadline.observability.logs import configure_logging
from threadline.serving import serve_one
from threadline.settings import Settings, SettingsError, load_settings
from threadline.terminal import chat_command, chat_parser
from threadline.version import VERSION
from threadline.workers import supervise

__all__ = ("main", "serve")


def main(argv: list[str] | None = None) -> None:
    """`threadline [serve]` serves on HOST:PORT; `dev` reloads too; `api-key …`; `chat`."""
    args = _parser().parse_args(argv)
    if args.command == "chat":
        # A client: the server's settings (database, model) are none of its business.
        sys.exit(chat_command(args))
    try:
        settings = load_settings()
    except SettingsError as error:
        sys.exit(f"threadline: {error}")
    # A key command prints its own output; the server's start-up lines would only clutter it.
    level = {"api-key": "WARNING", "dev": LOG_LEVEL}.get(args.command, settings.log_level)
    configure_logging(level)
    if args.command == "api-key":
        sys.exit(api_key_command(args, settings))
    if args.command == "dev":
        try:
            serve_dev(settings)
        except SettingsError as error:
            sys.exit(f"threadline: {error}")
        return
    serve(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threadline", description="A chat backend on LangGraph.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve on HOST:PORT (the default command)")
    commands.add_parser("dev", help="serve, reloading when the graph's files change")
    api_key_parser(commands)
    chat_parser(commands)
    return parser


def serve(settings: Settings) -> None:
    """Serve Threadline until interrupted: in this process, or in `WORKERS` of them."""
    if settings.workers > 1:
        supervise(settings)
    else:
        serve_one(settings)
