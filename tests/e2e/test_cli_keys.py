"""`threadline api-key` against a running `threadline` in AUTH_MODE=api_key, as an operator
uses them; and the server's log never shows a key or a ticket."""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import httpx
import pytest
from httpx_ws import WebSocketDisconnect

from tests.credentials import api_keys, bearer, handshake
from tests.fake_groq import FakeGroq, Fault
from tests.polling import eventually
from tests.processes import THREADLINE, free_port, process_env, running, servers, wait_ready
from tests.wsclient import ChatClient, connect

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


async def _ticket(address: str, key: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://{address}/auth/ws-ticket", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ticket"])


async def _told_revoked(chat: ChatClient) -> int:
    """Read up to the `token_revoked` error; the close code that follows it."""
    frames = await chat.until("error", within=30)  # generous: two cores, many tests
    assert frames[-1]["code"] == "token_revoked", frames[-1]
    with pytest.raises(WebSocketDisconnect) as closed:
        await chat.receive()
    return closed.value.code


async def test_a_revoked_key_closes_its_sockets_on_every_server_and_its_tickets_open_none(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.1)
    async with api_keys(database_url) as keys:
        alices = await keys.create("alice's laptop", user_id="alice", admin=False)
        admin = (await keys.create("gateway", user_id=None, admin=True)).key
    key = alices.key
    async with servers(tmp_path, database_url, fake_groq.url, 2, AUTH_MODE="api_key") as (
        one,
        two,
    ):
        unused = await _ticket(one.address, key)  # bought before the revocation
        async with (
            connect(one.address, "alice", headers={"X-API-Key": key}) as by_header,
            connect(
                two.address, "alice", query=f"ticket={await _ticket(two.address, key)}"
            ) as by_ticket,
        ):
            assert (await by_ticket.turn("still mine")).reply["content"]
            sent = " ".join(f"w{i}" for i in range(40))  # ~4 s of tokens
            await by_header.send(message=sent)
            conversation_id = (await by_header.receive())["conversation_id"]
            env = process_env(tmp_path, free_port(), DATABASE_URL=database_url)
            with anyio.fail_after(60):
                revoked = await anyio.to_thread.run_sync(
                    _api_key, env, tmp_path, "revoke", alices.info.key_id
                )
            assert revoked.returncode == 0, revoked.stderr
            codes = [await _told_revoked(by_header), await _told_revoked(by_ticket)]
        assert codes == [4401, 4401]
        refused = await handshake(two.address, f"/ws/alice?ticket={unused}")
        assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")
        assert "revoked" in refused.json()["detail"]
        # The reply in progress went on without its socket and was stored whole.
        async with connect(one.address, "alice", headers={"X-API-Key": admin}) as chat:

            async def answered() -> bool:
                return len(await chat.history(conversation_id)) == 2

            await eventually(answered, within=30, every=0.2)
            assert (await chat.history(conversation_id))[-1]["content"] == f"Reply 2: {sent}"
