"""A Model Context Protocol server for the tests.

`python -m tests.mcp_server` speaks over stdio; `python -m tests.mcp_server PORT` serves
streamable HTTP at `http://127.0.0.1:PORT/mcp`.
"""

from __future__ import annotations

import asyncio
import sys

from mcp.server.fastmcp import FastMCP

server = FastMCP("threadline-test-tools", host="127.0.0.1", log_level="WARNING")


@server.tool()
def shout(text: str) -> str:
    """Repeat `text` in capitals."""
    return text.upper()


@server.tool()
async def wait(seconds: float) -> str:
    """Wait `seconds`, then say so (a slow tool)."""
    await asyncio.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def refuse(reason: str) -> str:
    """Fail, saying why (a tool that raises)."""
    msg = f"refused: {reason}"
    raise ValueError(msg)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        server.settings.port = int(sys.argv[1])
        server.run(transport="streamable-http")
    else:
        server.run()
