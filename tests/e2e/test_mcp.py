"""Tools from an MCP server (a local one over stdio) used by the built-in agent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.polling import listening
from tests.processes import free_port
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.app import create_app
from threadline.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio


def _servers(tmp_path: Path, **extra: object) -> str:
    listed: dict[str, object] = {
        "test": {"command": sys.executable, "args": ["-m", "tests.mcp_server"], **extra},
        "broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]},
    }
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": listed}))
    return str(path)


async def test_an_mcp_servers_tool_is_called_and_a_broken_server_is_left_out(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    configured = msgspec.structs.replace(settings, mcp_servers=_servers(tmp_path))
    fake_groq.tool_calls.append([("shout", {"text": "hello mcp"})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        await chat.send(message="shout hello mcp")
        frames = await chat.until("message", within=30)
    offered = {tool["function"]["name"] for tool in fake_groq.requests[0]["tools"]}
    builtin = {"calculator", "clock", "search_conversations", "search_documents", "remember"}
    assert offered == builtin | {"shout", "wait", "refuse"}
    result = next(f for f in frames if f["type"] == "tool_result")
    assert (result["name"], result["content"], result["is_error"]) == ("shout", "HELLO MCP", False)
    assert frames[-1]["content"] == "Tools said: HELLO MCP"


async def test_a_stop_during_a_slow_tool_answers_the_call_and_keeps_the_thread_valid(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    configured = msgspec.structs.replace(settings, mcp_servers=_servers(tmp_path))
    fake_groq.tool_calls.append([("wait", {"seconds": 30})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        await chat.send(message="wait half a minute")
        frames = await chat.until("tool_call", within=30)
        conversation_id = frames[0]["conversation_id"]
        await chat.send(type="stop", conversation_id=conversation_id)
        stopped = (await chat.until("message", within=10))[-1]
        assert stopped["stopped"] is True
        history = await chat.history(conversation_id)
        assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
        assert history[2]["content"] == "stopped by the user before it finished"
        assert history[2]["is_error"] is True
        after = await chat.turn("never mind", conversation_id)
    assert after.reply["content"].startswith("Reply ")


async def test_an_mcp_tool_can_be_marked_for_approval(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    configured = msgspec.structs.replace(
        settings, mcp_servers=_servers(tmp_path, approve=["shout"])
    )
    fake_groq.tool_calls.append([("shout", {"text": "careful"})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        await chat.send(message="shout carefully")
        frames = await chat.until_any("approval_required", "message", within=30)
        assert frames[-1]["type"] == "approval_required"
        await chat.send(
            type="approve",
            conversation_id=frames[0]["conversation_id"],
            tool_call_id=frames[-1]["tool_call_id"],
        )
        done = await chat.until("message", within=30)
    assert done[-1]["content"] == "Tools said: CAREFUL"


async def test_a_raising_mcp_tool_is_an_error_result(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    configured = msgspec.structs.replace(settings, mcp_servers=_servers(tmp_path))
    fake_groq.tool_calls.append([("refuse", {"reason": "not today"})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        await chat.send(message="try the tool that refuses")
        frames = await chat.until("message", within=30)
    result = next(f for f in frames if f["type"] == "tool_result")
    assert result["is_error"] is True
    assert "refused: not today" in result["content"]
    assert frames[-1]["content"].startswith("Tools said: ")


def test_an_unreadable_server_list_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"mcpServers": {"x": {"args": []}}}')
    with pytest.raises(SettingsError, match="MCP_SERVERS"):
        create_app(Settings(mcp_servers=str(tmp_path / "bad.json")))
    with pytest.raises(SettingsError, match="MCP_SERVERS"):
        create_app(Settings(mcp_servers=str(tmp_path / "missing.json")))


async def test_a_tool_slower_than_its_timeout_is_an_error_result(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    configured = msgspec.structs.replace(settings, mcp_servers=_servers(tmp_path), tool_timeout=0.5)
    fake_groq.tool_calls.append([("wait", {"seconds": 30})])
    async with serve_threadline(configured) as address, connect(address, "alice") as chat:
        await chat.send(message="wait half a minute")
        frames = await chat.until("message", within=30)
    result = next(f for f in frames if f["type"] == "tool_result")
    assert (result["content"], result["is_error"]) == ("the tool did not answer within 0.5 s", True)
    assert frames[-1]["content"] == "Tools said: the tool did not answer within 0.5 s"


async def test_an_mcp_server_over_streamable_http(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "tests.mcp_server", str(port)]
    http = await anyio.open_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    async with http:
        try:
            await listening(port)
            path = tmp_path / "mcp.json"
            listed = {"web": {"url": f"http://127.0.0.1:{port}/mcp"}}
            path.write_text(json.dumps({"mcpServers": listed}))
            configured = msgspec.structs.replace(settings, mcp_servers=str(path))
            fake_groq.tool_calls.append([("shout", {"text": "over http"})])
            async with serve_threadline(configured) as address, connect(address, "alice") as chat:
                await chat.send(message="shout over http")
                frames = await chat.until("message", within=30)
        finally:
            http.terminate()
    result = next(f for f in frames if f["type"] == "tool_result")
    assert (result["content"], result["is_error"]) == ("OVER HTTP", False)
