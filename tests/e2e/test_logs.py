"""What users say never reaches the log, at any level: a `threadline` process at DEBUG
through a whole session (chat, tool calls, an MCP server's, memories, a document, search)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import anyio
import httpx
import pytest

from tests.fake_groq import FakeGroq
from tests.polling import eventually, listening
from tests.processes import fake_groq_env, free_port, running, wait_ready
from tests.wsclient import ChatClient, connect

pytestmark = pytest.mark.anyio


def _word(kind: str) -> str:
    """A word no log line holds unless it copied it from what the user sent."""
    return f"{kind}{uuid.uuid4().hex[:12]}"


async def _chat(chat: ChatClient, fake_groq: FakeGroq, words: dict[str, str]) -> None:
    # The model calls `remember`, then the MCP server's `shout`, with words of the user's.
    fake_groq.tool_calls.append([("remember", {"text": f"the user likes {words['noted']}"})])
    await chat.send(message=f"remember that I like {words['said']}")
    assert (await chat.until("message"))[-1]["content"].startswith("Tools said:")
    fake_groq.tool_calls.append([("shout", {"text": f"hello {words['shouted']}"})])
    await chat.send(message=f"shout hello {words['asked']}")
    shouted = (await chat.until("message", within=30))[-1]["content"]
    assert shouted == f"Tools said: HELLO {words['shouted'].upper()}"


async def _rest(address: str, words: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=f"http://{address}/users/alice") as http:
        memory = await http.post("/memories", json={"text": f"I keep {words['kept']} at home"})
        assert memory.status_code == 201, memory.text
        text = f"# Notes\n\nThe {words['filed']} manual."
        upload = await http.post("/documents", files={"file": ("notes.md", text)})
        assert upload.status_code == 202, upload.text
        document = f"/documents/{upload.json()['document_id']}"

        async def indexed() -> bool:
            return bool((await http.get(document)).json()["status"] == "ready")

        await eventually(indexed, within=30)
        found = await http.get("/search", params={"q": f"{words['said']} {words['searched']}"})
        assert found.status_code == 200, found.text
        assert found.json()["items"], "the search found the conversation"


async def test_a_session_at_debug_logs_nothing_the_user_said(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    kinds = ("said", "noted", "asked", "shouted", "kept", "filed", "searched")
    words = {kind: _word(kind) for kind in kinds}
    mcp_port, port, log = free_port(), free_port(), tmp_path / "server.log"
    servers = tmp_path / "mcp.json"
    servers.write_text(
        json.dumps({"mcpServers": {"web": {"url": f"http://127.0.0.1:{mcp_port}/mcp"}}})
    )
    env = fake_groq_env(
        tmp_path, port, database_url, fake_groq.url, LOG_LEVEL="DEBUG", MCP_SERVERS=str(servers)
    )
    command = [sys.executable, "-m", "tests.mcp_server", str(mcp_port)]
    mcp = await anyio.open_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    async with mcp:
        try:
            await listening(mcp_port)
            with running(env, tmp_path, log):
                await wait_ready(port)
                address = f"127.0.0.1:{port}"
                async with connect(address, "alice") as chat:
                    await _chat(chat, fake_groq, words)
                await _rest(address, words)
        finally:
            mcp.terminate()
    text = log.read_text()
    assert '"level":"debug"' in text  # the whole session was logged at DEBUG
    spoken = [*words.values(), words["shouted"].upper()]
    assert [word for word in spoken if word in text] == []
