"""A Model Context Protocol server for the tests, over stdio: `python -m tests.mcp_server`."""

from __future__ import annotations

import asyncio

from mcp.server.fastmcp import FastMCP

server = FastMCP("threadline-test-tools")


@server.tool()
def shout(text: str) -> str:
    """Repeat `text` in capitals."""
    return text.upper()


@server.tool()
async def wait(seconds: float) -> str:
    """Wait `seconds`, then say so (a slow tool)."""
    await asyncio.sleep(seconds)
    return f"waited {seconds:g} s"


if __name__ == "__main__":
    server.run()
