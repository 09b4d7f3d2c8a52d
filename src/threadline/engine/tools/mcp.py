"""Tools from Model Context Protocol servers, listed in a JSON file (`MCP_SERVERS`).

The file uses the common `mcpServers` layout: each server is a command to start (stdio)
or a URL (streamable HTTP), and may list tools that need the user's approval:

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem",
                  "/srv/docs"], "approve": ["write_file"]},
        "search": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "…"}}
    }}

Tools are loaded once at start-up through `langchain-mcp-adapters`; each call opens a
session of its own. A server that cannot be reached is logged and left out, so one broken
server does not take the chat down with it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient

from threadline.settings import SettingsError

__all__ = ("McpTools", "load_mcp_tools", "read_servers")

logger = logging.getLogger(__name__)


class McpTools(NamedTuple):
    """The tools the servers offer, and those whose calls need the user's approval."""

    tools: tuple[BaseTool, ...]
    needs_approval: frozenset[str]


class _Server(NamedTuple):
    connection: dict[str, Any]
    approve: frozenset[str]


def read_servers(path: str) -> dict[str, _Server]:
    """The servers listed in the file at `path`.

    Raises:
        SettingsError: The file cannot be read, or a server is neither a command nor a URL.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        listed = document["mcpServers"]
        return {name: _server(name, entry) for name, entry in listed.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        msg = f"invalid setting MCP_SERVERS: {path}: {type(error).__name__}: {error}"
        raise SettingsError(msg) from None


def _server(name: str, entry: dict[str, Any]) -> _Server:
    approve = frozenset(entry.get("approve", ()))
    if "url" in entry:
        connection: dict[str, Any] = {"transport": "streamable_http", "url": entry["url"]}
        if "headers" in entry:
            connection["headers"] = dict(entry["headers"])
    elif "command" in entry:
        connection = {"transport": "stdio", "command": entry["command"]}
        connection["args"] = [str(arg) for arg in entry.get("args", [])]
        for key in ("env", "cwd"):
            if key in entry:
                connection[key] = entry[key]
    else:
        msg = f"server {name!r} needs a `command` or a `url`"
        raise ValueError(msg)
    return _Server(connection, approve)


async def load_mcp_tools(path: str | None) -> McpTools:
    """Load every listed server's tools; a server that fails is logged and skipped."""
    if path is None:
        return McpTools((), frozenset())
    tools: list[BaseTool] = []
    approve: set[str] = set()
    for name, server in read_servers(path).items():
        client = MultiServerMCPClient({name: server.connection})  # type: ignore[dict-item]
        try:
            found = await client.get_tools(server_name=name)
        except Exception as error:  # noqa: BLE001 - one broken server must not stop the chat
            logger.error("mcp.unavailable", extra={"server": name, "error": type(error).__name__})
            continue
        logger.info("mcp.loaded", extra={"server": name, "tools": [t.name for t in found]})
        tools += found
        approve |= server.approve
    return McpTools(tuple(tools), frozenset(approve))
