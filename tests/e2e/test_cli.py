"""The `threadline` command as a newcomer runs it: embedded Postgres, offline model,
Ctrl-C, restart, and the conversation goes on."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.processes import (
    THREADLINE,
    fake_groq_env,
    free_port,
    process_env,
    running,
    wait_ready,
)
from tests.wsclient import connect

pytestmark = pytest.mark.anyio


async def test_threadline_serves_offline_on_embedded_postgres_and_remembers_across_restarts(
    tmp_path: Path,
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    env = process_env(tmp_path, port)
    marker = "my favourite colour is ultramarine-7f3a"

    with running(env, tmp_path, log):
        await wait_ready(port)
        async with connect(f"127.0.0.1:{port}", "alice") as chat:
            first = await chat.turn(marker)
    conversation_id = first.ack["conversation_id"]

    with running(env, tmp_path, log):
        await wait_ready(port)
        async with connect(f"127.0.0.1:{port}", "alice") as chat:
            second = await chat.turn("what did I say first?", conversation_id)

    assert first.reply["model"] == "threadline-offline"
    assert "[offline model, not an AI]" in first.reply["content"]
    assert "turn 1 of this conversation" in first.reply["content"]
    assert "turn 2 of this conversation" in second.reply["content"]
    assert f'It began with: "{marker}"' in second.reply["content"]
    assert first.streamed == first.reply["content"]
    logs = log.read_text()
    assert '"event":"database.embedded"' in logs
    assert '"event":"llm.offline"' in logs
    assert '"event":"turn.completed"' in logs
    assert marker not in logs  # message bodies never reach the logs
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").is_file()


def test_an_invalid_setting_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    env = process_env(tmp_path, 8000, GROQ_TEMPERATURE="hot")
    result = subprocess.run(
        [THREADLINE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
    )

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "threadline: invalid setting GROQ_TEMPERATURE: Expected `float`, got `str`"
    )


async def test_an_acknowledged_message_survives_the_server_being_killed(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(token_delay=0.5, only_for="do not lose me"))  # takes seconds
    port, log = free_port(), tmp_path / "server.log"
    # TURN_LEASE: the dead server's lease on the conversation runs out quickly.
    env = fake_groq_env(tmp_path, port, database_url, fake_groq.url, TURN_LEASE="2")

    with running(env, tmp_path, log) as process:
        await wait_ready(port)
        async with connect(f"127.0.0.1:{port}", "alice") as chat:
            first = await chat.turn("hello")
            conversation_id = first.reply["conversation_id"]
            await chat.send(message="do not lose me", conversation_id=conversation_id)
            ack = await chat.receive()
            process.kill()  # SIGKILL between ack and reply: no shutdown, no cleanup
            process.wait(timeout=10)

    with running(env, tmp_path, log):
        await wait_ready(port)
        async with connect(f"127.0.0.1:{port}", "alice") as chat:
            after_restart = await chat.history(conversation_id)
            follow_up = await chat.turn("are you back?", conversation_id)
            history = await chat.history(conversation_id)

    assert ack["type"] == "ack"
    stored = after_restart[-1]
    assert datetime.fromisoformat(stored.pop("created_at"))
    assert stored == {"message_id": ack["message_id"], "role": "user", "content": "do not lose me"}
    # The next message is not dropped beside the unanswered one, and the model sees both.
    assert follow_up.reply["content"].endswith("are you back?")
    assert fake_groq.user_turns()[1:] == [
        "user: hello",
        f"assistant: {first.reply['content']}",
        "user: do not lose me",
        "user: are you back?",
    ]
    assert [m["content"] for m in history] == [
        "hello",
        first.reply["content"],
        "do not lose me",
        "are you back?",
        follow_up.reply["content"],
    ]


def _postgres_serving(pgdata: Path) -> bool:
    """Whether a postgres process serves `pgdata` (read from /proc, no extra tools)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            parts = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if parts and parts[0].endswith(b"postgres") and str(pgdata).encode() in parts:
            return True
    return False


async def test_after_a_crash_the_next_clean_stop_still_stops_embedded_postgres(
    tmp_path: Path,
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    env = process_env(tmp_path, port)
    pgdata = (tmp_path / "data" / "pgdata").resolve()

    with running(env, tmp_path, log) as crashed:
        await wait_ready(port)
        crashed.kill()  # no shutdown: its handle on the embedded server is left behind
        crashed.wait(timeout=10)
    survived_crash = _postgres_serving(pgdata)
    with running(env, tmp_path, log):
        await wait_ready(port)
        async with connect(f"127.0.0.1:{port}", "alice") as chat:
            await chat.turn("hello after the crash")
    # _running sent Ctrl-C and saw a clean exit; the database must have gone with it.
    with anyio.fail_after(10):
        while _postgres_serving(pgdata):  # noqa: ASYNC110 - polls the process table
            await anyio.sleep(0.1)

    assert survived_crash  # the crash itself could not stop it
