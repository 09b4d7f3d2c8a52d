"""`threadline api-key` against a running `threadline` in AUTH_MODE=api_key, as an operator
uses them; and the server's log never shows a key or a ticket."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.credentials import bearer, handshake
from tests.processes import THREADLINE, free_port, process_env, running, wait_ready
from tests.wsclient import connect

pytestmark = pytest.mark.anyio


def _api_key(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [THREADLINE, "api-key", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_keys_are_created_used_and_revoked_and_never_logged(
    tmp_path: Path, database_url: str
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    env = process_env(
        tmp_path, port, DATABASE_URL=database_url, AUTH_MODE="api_key", LOG_LEVEL="DEBUG"
    )
    created = _api_key(env, tmp_path, "create", "--name", "alice's laptop", "--user", "alice")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("tl_")
    assert "not shown again" in created.stderr
    listed = _api_key(env, tmp_path, "list")
    key_id = listed.stdout.split("\t")[0]
    assert key_id.startswith("key_")
    assert "alice's laptop\tuser=alice" in listed.stdout
    assert key not in listed.stdout

    with running(env, tmp_path, log):
        await wait_ready(port)
        address = f"127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"http://{address}/auth/ws-ticket", headers=bearer(key))
            ticket = answer.json()["ticket"]
        async with connect(address, "alice", query=f"ticket={ticket}") as chat:
            assert (await chat.turn("hello")).reply["content"]
        assert (await handshake(address, f"/ws/alice?ticket={ticket}")).status_code == 401

        revoked = _api_key(env, tmp_path, "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        assert (await handshake(address, "/ws/alice", {"X-API-Key": key})).status_code == 401
        assert _api_key(env, tmp_path, "revoke", key_id).returncode == 1  # already revoked

    text = log.read_text()
    assert "/ws/alice?ticket=[redacted]" in text  # uvicorn logged the request line, redacted
    assert ticket not in text
    assert key not in text


def test_a_key_is_for_one_user_or_an_admin(tmp_path: Path, database_url: str) -> None:
    env = process_env(tmp_path, free_port(), DATABASE_URL=database_url)
    neither = _api_key(env, tmp_path, "create", "--name", "x")
    assert neither.returncode == 2
    bad_user = _api_key(env, tmp_path, "create", "--name", "x", "--user", "not a user id")
    assert bad_user.returncode == 2
    admin = _api_key(env, tmp_path, "create", "--name", "gateway", "--admin")
    assert admin.returncode == 0
    assert "gateway\tadmin" in _api_key(env, tmp_path, "list").stdout
