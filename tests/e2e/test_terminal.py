"""`threadline chat`, driven in a pseudo-terminal as a person would use it."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import msgspec
import pytest

from tests.credentials import api_keys
from tests.fake_groq import FakeGroq, Fault
from tests.processes import THREADLINE
from tests.proxy import proxy
from tests.serving import serve_threadline
from tests.terminal import terminal
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

CONVERSATION = r"\[conversation ([A-Za-z0-9_-]+)\]"
LONG = " ".join(f"word{i}" for i in range(40))


async def test_a_person_chats_starts_another_conversation_lists_and_reopens_the_first(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, terminal("--url", f"ws://{address}") as term:
        await term.wait_for("> ")
        term.type("hello there")
        first = (await term.wait_for_match(CONVERSATION)).group(1)
        await term.wait_for("Reply 1: hello there")
        await term.wait_for("> ")
        term.type("/new")
        await term.wait_for("> ")
        term.type("a second topic")
        second = (await term.wait_for_match(CONVERSATION)).group(1)
        await term.wait_for("Reply 2: a second topic")
        await term.wait_for("> ")
        term.type("/list")
        await term.wait_for("/list")
        listed = await term.wait_for("> ")
        term.type(f"/open {first}")
        await term.wait_for(first)
        reopened = await term.wait_for("> ")
        term.type("and again")
        await term.wait_for("Reply 3: and again")
        await term.wait_for("> ")
        term.type("/quit")
        status = await term.exit_status()
        async with terminal("--url", f"ws://{address}", "--conversation", second) as again:
            shown = await again.wait_for("> ")
            again.type("/quit")
            assert await again.exit_status() == 0

    assert "you: a second topic\nassistant: Reply 2: a second topic" in shown
    assert first != second
    assert listed.index(second) < listed.index(first)  # newest first
    assert "you: hello there\nassistant: Reply 1: hello there" in reopened
    assert "a second topic" not in reopened
    assert fake_groq.user_turns()[-3:] == [
        "user: hello there",
        "assistant: Reply 1: hello there",
        "user: and again",
    ]
    assert status == 0


async def test_ctrl_c_stops_a_reply_and_at_the_prompt_only_says_how_to_leave(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.1)
    async with serve_threadline(settings) as address, terminal("--url", f"ws://{address}") as term:
        await term.wait_for("> ")
        term.type(LONG)
        await term.wait_for("Reply 1: word0")
        term.interrupt()
        await term.wait_for("[stopped]")
        await term.wait_for("> ")
        term.interrupt()
        hint = await term.wait_for("> ")
        term.type("/history")
        await term.wait_for("/history")
        history = await term.wait_for("> ")
        term.end_input()
        status = await term.exit_status()

    assert "[Ctrl-D or /quit to leave]" in hint
    stored = next(line for line in history.splitlines() if line.startswith("assistant: "))
    assert stored.startswith("assistant: Reply 1: word0")
    assert stored.endswith("[stopped]")
    assert "word39" not in stored
    assert status == 0


async def test_stop_and_regenerate_answer_again_keeping_the_stopped_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.1)
    async with serve_threadline(settings) as address, terminal("--url", f"ws://{address}") as term:
        await term.wait_for("> ")
        term.type(LONG)
        await term.wait_for("Reply 1: word0")
        term.type("/stop")
        await term.wait_for("[stopped]")
        await term.wait_for("> ")
        fake_groq.default = Fault()
        term.type("/regenerate")
        await term.wait_for(f"Reply 2: {LONG}")
        await term.wait_for("> ")
        term.type("/history")
        await term.wait_for("/history")
        history = await term.wait_for("> ")
        term.type("/quit")
        await term.exit_status()

    assert [line for line in history.splitlines() if line.startswith(("you:", "assistant:"))] == [
        f"you: {LONG}",
        f"assistant: Reply 2: {LONG} [2/2]",  # the stopped reply is its version 1
    ]


async def test_a_dropped_connection_is_resumed_without_a_gap_or_a_repeat(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.05)
    async with (
        serve_threadline(settings) as address,
        proxy(address) as network,
        terminal("--url", f"ws://127.0.0.1:{network.port}") as term,
    ):
        await term.wait_for("> ")
        term.type(LONG)
        await term.wait_for("Reply 1: word0 word1")
        await network.cut()
        shown = await term.wait_for("> ")
        await network.cut()  # while idle: what is typed next is sent once it is back
        await term.wait_for("reconnecting")
        term.type("still there?")
        await term.wait_for("Reply 2: still there?")
        term.type("/quit")
        await term.exit_status()

    reply = "".join(line for line in shown.splitlines() if not line.startswith("["))
    assert f"Reply 1: word0 word1{reply}" == f"Reply 1: {LONG}"
    assert network.connections == 3


async def test_without_url_it_finds_the_server_at_host_and_port_and_says_when_it_cannot(
    settings: Settings,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"HOST", "PORT"}}
    async with serve_threadline(settings) as address:
        host, port = address.rsplit(":", 1)
        async with terminal(env={**env, "HOST": host, "PORT": port}) as found:
            await found.wait_for(f"connected to ws://{host}:{port} as alice")
            found.type("/quit")
            assert await found.exit_status() == 0
    async with terminal(env={**env, "HOST": "127.0.0.1", "PORT": "1"}) as unreachable:
        await unreachable.wait_for(
            "error disconnected: cannot reach Threadline at ws://127.0.0.1:1"
        )
        assert await unreachable.exit_status() == 2
        assert "Traceback" not in unreachable.shown


async def test_it_sends_its_token_and_stops_when_the_server_refuses_it(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        key = (await keys.create("terminal", user_id="bob", admin=False)).key
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(configured) as address:
        url = f"ws://{address}"
        async with terminal("--url", url, "--user", "bob", "--token", key) as allowed:
            await allowed.wait_for("> ")
            allowed.type("hi")
            await allowed.wait_for("Reply 1: hi")
            allowed.type("/list")
            await allowed.wait_for("(2 messages)")
            allowed.type("/quit")
            assert await allowed.exit_status() == 0
        async with terminal("--url", url, "--user", "bob") as refused:
            await refused.wait_for("Threadline refused the connection (HTTP 401)")
            assert await refused.exit_status() == 1


@pytest.mark.parametrize("source", ["file", "pipe", "/dev/null"])
async def test_input_from_a_file_a_pipe_or_dev_null_is_answered_line_by_line_then_it_exits(
    settings: Settings, fake_groq: FakeGroq, tmp_path: Path, source: str
) -> None:
    script = tmp_path / "script.txt"
    script.write_text("hello there\nand again\n")
    shell = {  # as a shell runs it: "$0" is the script, "$1" the server's URL
        "file": f'"{THREADLINE}" chat --url "$1" < "$0"',
        "pipe": f'cat "$0" | "{THREADLINE}" chat --url "$1"',
        "/dev/null": f'"{THREADLINE}" chat --url "$1" < /dev/null',
    }
    async with serve_threadline(settings) as address:
        command = ["sh", "-c", shell[source], str(script), f"ws://{address}"]
        done = await anyio.run_process(command, check=False)

    shown, errors = done.stdout.decode(), done.stderr.decode()
    assert (done.returncode, errors) == (0, "")
    if source == "/dev/null":
        assert fake_groq.requests == []
    else:
        assert shown.index("Reply 1: hello there") < shown.index("Reply 2: and again")
        assert fake_groq.user_turns()[-3:] == [
            "user: hello there",
            "assistant: Reply 1: hello there",
            "user: and again",
        ]
