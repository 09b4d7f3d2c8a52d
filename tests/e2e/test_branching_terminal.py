"""`/edit`, `/branch N` and `/export` in `threadline chat`, driven in a pseudo-terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.terminal import terminal
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _said(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if line.startswith(("you:", "assistant:"))]


async def test_edit_the_last_message_then_go_back_to_its_first_version(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, terminal("--url", f"ws://{address}") as term:
        await term.wait_for("> ")
        term.type("hello")
        await term.wait_for("Reply 1: hello")
        await term.wait_for("> ")
        term.type("/branch 1")
        nothing = await term.wait_for("> ")
        term.type("/edit hi there")
        await term.wait_for("Reply 2: hi there")
        await term.wait_for("> ")
        term.type("/history")
        await term.wait_for("/history")
        edited = await term.wait_for("> ")
        term.type("/branch 1")
        await term.wait_for("/branch 1")
        first = await term.wait_for("> ")
        term.type("and then?")
        await term.wait_for("Reply 3: and then?")
        await term.wait_for("> ")
        term.type("/quit")
        await term.exit_status()

    assert "no message here has other versions" in nothing
    assert _said(edited) == ["you: hi there [2/2]", "assistant: Reply 2: hi there"]
    assert _said(first) == ["you: hello [1/2]", "assistant: Reply 1: hello"]
    # The first version went on: the model saw it, not the edit.
    assert fake_groq.user_turns()[1:] == [
        "user: hello",
        "assistant: Reply 1: hello",
        "user: and then?",
    ]


async def test_export_writes_the_conversation_to_a_file_or_the_screen(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path
) -> None:
    markdown, exported = tmp_path / "tides.md", tmp_path / "tides.json"
    async with serve_threadline(settings) as address, terminal("--url", f"ws://{address}") as term:
        await term.wait_for("> ")
        term.type("/export")
        nothing = await term.wait_for("> ")
        term.type("tides")
        await term.wait_for("Reply 1: tides")
        await term.wait_for("> ")
        term.type(f"/export markdown {markdown}")
        wrote = await term.wait_for("> ")
        term.type(f"/export {exported}")
        await term.wait_for("> ")
        term.type("/export markdown")
        await term.wait_for("/export markdown")
        shown = await term.wait_for("> ")
        term.type(f"/export json {tmp_path / 'missing' / 'x.json'}")
        failed = await term.wait_for("> ")
        term.type("/help")
        helped = await term.wait_for("> ")
        term.type("/quit")
        await term.exit_status()

    assert "no conversation yet" in nothing
    assert f"exported to {markdown}" in wrote
    assert "## User\n\ntides" in markdown.read_text(encoding="utf-8")
    assert "## Assistant\n\nReply 1: tides" in markdown.read_text(encoding="utf-8")
    saved = json.loads(exported.read_text(encoding="utf-8"))
    assert saved["format"] == "threadline"
    assert [m["content"] for m in saved["messages"]] == ["tides", "Reply 1: tides"]
    assert "## Assistant" in shown.replace("\r\n", "\n")
    assert "Reply 1: tides" in shown
    assert "error export_failed" in failed
    assert "/export" in helped
    assert "/edit TEXT" in helped
    assert "/branch N" in helped
