"""The smoke client as a newcomer runs it: it finds the server by HOST and PORT."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import msgspec
import pytest

from tests.credentials import api_keys
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _env(**values: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in {"HOST", "PORT"}}, **values}


async def test_the_client_talks_to_the_server_at_host_and_port(
    settings: Settings, tmp_path: Path
) -> None:
    async with serve_threadline(settings) as address:
        host, port = address.rsplit(":", 1)
        done = await anyio.run_process(
            [sys.executable, "-m", "threadline.client", "--user", "alice", "hello there"],
            env=_env(HOST=host, PORT=port),
            cwd=tmp_path,
            check=False,
        )

    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "Reply 1: hello there"
    assert "[conversation " in done.stderr.decode()


async def test_an_unreachable_server_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = await anyio.run_process(
        [sys.executable, "-m", "threadline.client", "hello"],
        env=_env(HOST="127.0.0.1", PORT="1"),
        cwd=tmp_path,
        check=False,
    )

    errors = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2
    assert len(errors) == 1
    assert errors[0].startswith("error: cannot reach Threadline at ws://127.0.0.1:1: ")
    assert "Traceback" not in done.stderr.decode()


async def test_the_client_sends_its_token_and_says_when_it_is_refused(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    async with api_keys(database_url) as keys:
        key = (await keys.create("cli", user_id="alice", admin=False)).key
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(configured) as address:
        host, port = address.rsplit(":", 1)
        command = [sys.executable, "-m", "threadline.client", "--user", "alice", "hi"]
        env = _env(HOST=host, PORT=port)
        allowed = await anyio.run_process(
            command, env={**env, "THREADLINE_TOKEN": key}, cwd=tmp_path, check=False
        )
        refused = await anyio.run_process(command, env=env, cwd=tmp_path, check=False)

    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.decode().strip() == "Reply 1: hi"
    assert refused.returncode == 1
    assert refused.stderr.decode().strip() == "error: Threadline refused the connection (HTTP 401)"
