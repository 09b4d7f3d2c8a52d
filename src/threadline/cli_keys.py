"""`threadline api-key create|list|revoke`: API keys, managed from the server's machine.

The key is printed once, on creation; only its hash is stored. Uses the same settings as
the server (DATABASE_URL, or the embedded PostgreSQL in THREADLINE_DATA_DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.identity.keys import ApiKey, ApiKeys
from threadline.identity.principal import is_user_id
from threadline.settings import Settings
from threadline.storage.database import database_url, open_pool
from threadline.storage.schema import migrate

__all__ = ("api_key_command", "api_key_parser")


def api_key_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `api-key` and its subcommands to the CLI's parser."""
    parser = commands.add_parser("api-key", help="create, list or revoke API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'gateway'")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the user the key acts as")
    who.add_argument("--admin", action="store_true", help="may act for any user")
    actions.add_parser("list", help="list keys (never the keys themselves)")
    revoke = actions.add_parser("revoke", help="revoke a key at once, on every server")
    revoke.add_argument("key_id", help="the key's id, as `list` shows it (key_…)")


def api_key_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run an `api-key` subcommand; returns the exit status."""
    if args.action == "create" and args.user is not None and not is_user_id(args.user):
        print("threadline: --user must be 1-128 letters, digits and _ . @ : | -", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with database_url(settings) as url, open_pool(url, settings) as pool:
        await migrate(url, AsyncPostgresSaver(pool), AsyncPostgresStore(pool))
        keys = ApiKeys(pool)
        if args.action == "create":
            new = await keys.create(args.name, user_id=args.user, admin=args.admin)
            print(new.key)
            print(
                f"{_describe(new.info)}\nStore the key now: it is not shown again.", file=sys.stderr
            )
        elif args.action == "list":
            for key in await keys.list():
                print(_describe(key))
        elif not await keys.revoke(args.key_id):
            print(f"threadline: no live key {args.key_id}", file=sys.stderr)
            return 1
        else:
            print(f"revoked {args.key_id}")
    return 0


def _describe(key: ApiKey) -> str:
    who = "admin" if key.admin else f"user={key.user_id}"
    state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    return f"{key.key_id}\t{key.name}\t{who}\tcreated {key.created_at:%Y-%m-%d %H:%M}\t{state}"
