"""Browsers: a ticket opens one socket once; foreign origins are refused; CORS follows."""

from __future__ import annotations

import time

import httpx
import msgspec
import psycopg
import pytest
from httpx_ws import WebSocketDisconnect

from tests.credentials import api_keys, bearer, handshake, token
from tests.e2e.test_auth_matrix import jwt_settings
from tests.fake_groq import FakeGroq, Fault
from tests.polling import eventually
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def _ticket(address: str, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"http://{address}/auth/ws-ticket", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0 < body["expires_in"] <= 60
    return str(body["ticket"])


async def test_a_ticket_opens_one_socket_once(settings: Settings) -> None:
    async with serve_threadline(jwt_settings(settings)) as address:
        ticket = await _ticket(address, bearer(token("alice")))
        async with connect(address, "alice", query=f"ticket={ticket}") as chat:
            assert (await chat.turn("hi")).reply["content"] == "Reply 1: hi"
        reused = await handshake(address, f"/ws/alice?ticket={ticket}")
        assert (reused.status_code, reused.json()["code"]) == (401, "unauthenticated")
        # A ticket is the user's, like the token it was bought with.
        bobs = await handshake(
            address, f"/ws/alice?ticket={await _ticket(address, bearer(token('bob')))}"
        )
        assert (bobs.status_code, bobs.json()["code"]) == (403, "forbidden")
        forged = await handshake(address, "/ws/alice?ticket=made-up")
        assert forged.status_code == 401


async def test_an_expired_ticket_is_refused(settings: Settings, database_url: str) -> None:
    async with serve_threadline(jwt_settings(settings)) as address:
        ticket = await _ticket(address, bearer(token("alice")))
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(  # as if its 30 seconds had passed
                "UPDATE threadline_ws_tickets SET expires_at = now() - interval '1 second'"
            )
        expired = await handshake(address, f"/ws/alice?ticket={ticket}")
        assert (expired.status_code, expired.json()["code"]) == (401, "unauthenticated")


async def test_a_socket_is_closed_when_its_token_expires_and_its_reply_is_kept(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.1)
    async with serve_threadline(jwt_settings(settings, jwt_leeway=0)) as address:
        # Made once the server is up: its start may take longer than the token lives.
        expiring = token("alice", exp=int(time.time()) + 2)
        async with connect(address, "alice", headers=bearer(expiring)) as chat:
            sent = " ".join(f"w{i}" for i in range(40))  # ~4 s of tokens: past the expiry
            await chat.send(message=sent)
            conversation_id = (await chat.receive())["conversation_id"]
            frames = await chat.until("error", within=10)
            assert frames[-1]["code"] == "token_expired"
            with pytest.raises(WebSocketDisconnect) as closed:
                await chat.receive()
            assert closed.value.code == 4401
        # The reply went on without the socket and was stored whole.
        async with connect(address, "alice", headers=bearer(token("alice"))) as chat:

            async def answered() -> bool:
                return len(await chat.history(conversation_id)) == 2

            await eventually(answered, within=15, every=0.2)
            history = await chat.history(conversation_id)
        assert history[-1]["content"] == f"Reply 1: {sent}"
        assert not history[-1].get("stopped")


@pytest.mark.parametrize(
    ("allowed", "origin", "status"),
    [
        ("", "https://evil.example", 403),
        ("https://chat.example.com", "https://evil.example", 403),
        ("https://chat.example.com", "null", 403),
        ("https://chat.example.com", "https://chat.example.com", 101),
        ("https://a.example, https://chat.example.com/", "https://CHAT.example.com", 101),
        ("*", "https://anywhere.example", 101),
        ("", None, 101),  # not a browser: no Origin, no check
    ],
)
async def test_a_socket_from_a_foreign_origin_is_refused(
    settings: Settings, allowed: str, origin: str | None, status: int
) -> None:
    configured = msgspec.structs.replace(settings, allowed_origins=allowed)
    async with serve_threadline(configured) as address:
        headers = {"Origin": origin} if origin else {}
        answer = await handshake(address, "/ws/alice", headers)
        assert answer.status_code == status
        if status == 403:
            assert answer.json()["code"] == "forbidden_origin"


async def test_a_page_served_by_threadline_itself_may_open_a_socket(settings: Settings) -> None:
    async with serve_threadline(settings) as address:
        answer = await handshake(address, "/ws/alice", {"Origin": f"http://{address}"})
        assert answer.status_code == 101


async def test_rest_cors_follows_the_allowed_origins(settings: Settings) -> None:
    configured = jwt_settings(settings, allowed_origins="https://chat.example.com")
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        url = f"http://{address}/users/alice/conversations"
        allowed = await http.options(
            url, headers={"Origin": "https://chat.example.com", **preflight}
        )
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == "https://chat.example.com"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        foreign = await http.options(url, headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in foreign.headers
        listed = await http.get(
            url, headers={"Origin": "https://chat.example.com", **bearer(token("alice"))}
        )
        assert listed.status_code == 200
        assert listed.headers["access-control-allow-origin"] == "https://chat.example.com"


async def _memories(address: str, headers: dict[str, str]) -> int:
    async with httpx.AsyncClient() as http:
        listed = await http.get(f"http://{address}/users/alice/memories", headers=headers)
    return len(listed.json()["items"])


@pytest.mark.parametrize(
    ("auth_mode", "sent", "status"),
    [
        ("none", {"Origin": "https://evil.example"}, 403),
        ("none", {"Origin": "null"}, 403),  # a sandboxed frame, or a page without referrer
        ("none", {"Origin": "http://127.0.0.1:1"}, 403),  # another port is another origin
        ("none", {"Sec-Fetch-Site": "cross-site"}, 403),  # a browser, not saying where from
        ("none", {"Origin": "https://chat.example.com"}, 201),  # listed
        ("none", {"Origin": "http://ADDRESS"}, 201),  # the page Threadline serves itself
        ("none", {}, 201),  # not a browser: curl, an SDK
        ("api_key", {"Origin": "https://evil.example"}, 403),
        ("api_key", {"Origin": "https://chat.example.com"}, 201),
        ("api_key", {}, 201),
    ],
)
async def test_a_write_from_a_foreign_origin_is_refused_like_a_socket(
    settings: Settings, database_url: str, auth_mode: str, sent: dict[str, str], status: int
) -> None:
    async with api_keys(database_url) as keys:
        alices = {"X-API-Key": (await keys.create("alice's", user_id="alice", admin=False)).key}
    configured = msgspec.structs.replace(
        settings, auth_mode=auth_mode, allowed_origins="https://chat.example.com"
    )
    credentials = alices if auth_mode == "api_key" else {}
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        headers = {k: v.replace("ADDRESS", address) for k, v in sent.items()} | credentials
        url = f"http://{address}/users/alice/memories"
        written = await http.post(url, json={"text": "I like green tea"}, headers=headers)
        stored = await _memories(address, credentials)

    assert written.status_code == status, written.text
    if status == 403:
        assert written.json()["code"] == "forbidden_origin"
    assert stored == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/users/alice/memories", "text/plain"),
        ("/users/alice/memories", "application/x-www-form-urlencoded"),
        ("/users/alice/memories", "multipart/form-data; boundary=x"),
        ("/users/alice/memories", None),
        ("/users/alice/documents", "application/json"),
        ("/users/alice/documents", "text/plain"),
    ],
)
async def test_a_body_of_another_type_than_the_route_takes_is_refused(
    settings: Settings, path: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        refused = await http.post(
            f"http://{address}{path}", content=b'{"text": "I like green tea"}', headers=headers
        )
        stored = await _memories(address, {})
        json_with_charset = await http.post(
            f"http://{address}/users/alice/memories",
            content=b'{"text": "I like green tea"}',
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    assert (refused.status_code, refused.json()["code"]) == (415, "unsupported_media_type")
    assert stored == 0
    assert json_with_charset.status_code == 201
