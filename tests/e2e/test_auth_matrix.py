"""The attack matrix: every bad credential on every route and on the socket is refused,
and neither the model nor the database sees anything of it."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import msgspec
import pytest

from tests.credentials import (
    AUDIENCE,
    ISSUER,
    SECRET,
    api_keys,
    bearer,
    confused_token,
    ec_key,
    handshake,
    public_pem,
    row_count,
    rsa_key,
    token,
    unsigned_token,
)
from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Secret, Settings

pytestmark = pytest.mark.anyio

PUBLIC = {"/health", "/ready", "/info", "/ok"}
# A share link is read without an account by design (its id is the secret): its own
# tests (test_sharing.py) check that it shows only what was shared, and revocation.
SHARE_LINKS = "/shared/"


def jwt_settings(settings: Settings, **changes: Any) -> Settings:
    """AUTH_MODE=jwt with the test secret, issuer and audience checked."""
    values: dict[str, Any] = {
        "auth_mode": "jwt",
        "jwt_secret": Secret(SECRET),
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        **changes,
    }
    return msgspec.structs.replace(settings, **values)


async def _routes(
    address: str, admin: dict[str, str], conversation_id: str
) -> list[tuple[str, str]]:
    """Every operation of the API (from its own OpenAPI document), made concrete for alice."""
    async with httpx.AsyncClient() as http:
        document = (await http.get(f"http://{address}/schema/openapi.json", headers=admin)).json()
    routes = [("GET", "/schema/openapi.json"), ("GET", "/schema"), ("GET", "/schema/asyncapi.json")]
    for path, operations in document["paths"].items():
        concrete = path.replace("{user_id}", "alice").replace("{conversation_id}", conversation_id)
        if concrete in PUBLIC or concrete.startswith(SHARE_LINKS):
            continue
        routes += [(method.upper(), concrete) for method in operations]
    return routes


def _bad_credentials(revoked: str, bobs_key: str) -> dict[str, tuple[dict[str, str], int]]:
    now = int(time.time())
    return {
        "none": ({}, 401),
        "basic scheme": ({"Authorization": "Basic YWxpY2U6cHc="}, 401),
        "empty bearer": ({"Authorization": "Bearer"}, 401),
        "not a JWT": (bearer("hello"), 401),
        "bad signature": (bearer(token(key="another-secret-that-is-long-enough-too")), 401),
        "alg none": (bearer(unsigned_token()), 401),
        "expired": (bearer(token(exp=now - 60)), 401),
        "not yet valid": (bearer(token(nbf=now + 600)), 401),
        "no expiry": (bearer(token(exp=None)), 401),
        "wrong issuer": (bearer(token(iss="https://evil.test/")), 401),
        "wrong audience": (bearer(token(aud="someone-else")), 401),
        "unknown API key": ({"X-API-Key": "tl_not-a-key-this-server-made"}, 401),
        "revoked API key": ({"X-API-Key": revoked}, 401),
        "another user's token": (bearer(token("bob")), 403),
        "another user's API key": (bearer(bobs_key), 403),
    }


async def _status(address: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = {"title": "renamed"} if method == "PATCH" else None
    async with httpx.AsyncClient() as http:
        return await http.request(method, f"http://{address}{path}", headers=headers, json=body)


async def _footprint(database_url: str, fake_groq: FakeGroq) -> tuple[int, ...]:
    """What a request could leave behind: model calls, checkpoints, writes, store items."""
    tables = ("checkpoints", "checkpoint_writes", "store", "threadline_ws_tickets")
    return (len(fake_groq.requests), *[await row_count(database_url, t) for t in tables])


async def test_every_bad_credential_is_refused_on_every_route_and_the_socket(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    async with api_keys(database_url) as keys:
        admin = bearer((await keys.create("gateway", user_id=None, admin=True)).key)
        revoked = await keys.create("old", user_id="alice", admin=False)
        await keys.revoke(revoked.info.key_id)
        bobs_key = (await keys.create("bob's", user_id="bob", admin=False)).key
    async with serve_threadline(jwt_settings(settings)) as address:
        async with connect(address, "alice", headers=admin) as chat:
            conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        seen = await _footprint(database_url, fake_groq)
        routes = await _routes(address, admin, conversation_id)
        wrong: list[str] = []
        for name, (headers, expected) in _bad_credentials(revoked.key, bobs_key).items():
            for method, path in [*routes, ("WS", "/ws/alice")]:
                if expected == 403 and "alice" not in path:
                    continue  # bob's valid credentials may fetch the schema or a ticket
                if method == "WS":
                    response = await handshake(address, path, headers)
                else:
                    response = await _status(address, method, path, headers)
                code = "unauthenticated" if expected == 401 else "forbidden"
                if response.status_code != expected or response.json().get("code") != code:
                    wrong.append(f"{name}: {method} {path} -> {response.status_code}")
                elif (
                    expected == 401 and "bearer" not in response.headers["www-authenticate"].lower()
                ):
                    wrong.append(f"{name}: {method} {path} lacks WWW-Authenticate")
        assert wrong == []
        assert len(routes) >= 8  # the matrix covered the whole API
        assert await _footprint(database_url, fake_groq) == seen
        for path in PUBLIC:
            assert (await _status(address, "GET", path, {})).status_code == 200


async def test_the_path_user_must_be_the_credentials_unless_it_is_an_admin_key(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = bearer((await keys.create("gateway", user_id=None, admin=True)).key)
        alices = {"X-API-Key": (await keys.create("alice's", user_id="alice", admin=False)).key}
    async with serve_threadline(jwt_settings(settings)) as address:
        for headers in (alices, bearer(token("alice")), admin):
            async with connect(address, "alice", headers=headers) as chat:
                assert (await chat.turn("hi")).reply["content"]
            listed = await _status(address, "GET", "/users/alice/conversations", headers)
            assert listed.status_code == 200
        # An admin key acts for anyone; alice's credentials only for alice.
        assert (await _status(address, "GET", "/users/bob/conversations", admin)).status_code == 200
        assert (await _status(address, "DELETE", "/users/bob", alices)).status_code == 403
        assert (await _status(address, "DELETE", "/users/bob", admin)).status_code == 200
        # alice's conversations stay hidden from bob's own credentials: 404, not 403.
        conversation_id = (
            await _status(address, "GET", "/users/alice/conversations", alices)
        ).json()["items"][0]["conversation_id"]
        bobs = bearer(token("bob"))
        missing = await _status(address, "GET", f"/users/bob/conversations/{conversation_id}", bobs)
        assert missing.status_code == 404
        assert missing.json()["code"] == "conversation_not_found"


@pytest.mark.parametrize("key", [rsa_key(), ec_key()], ids=["RS256", "ES256"])
async def test_a_public_key_accepts_its_own_algorithm_and_refuses_confusion(
    settings: Settings, key: Any
) -> None:
    pem = public_pem(key)
    alg = "RS256" if key is rsa_key() else "ES256"
    configured = jwt_settings(settings, jwt_secret=None, jwt_public_key=pem)
    async with serve_threadline(configured) as address:
        good = await _status(
            address, "GET", "/users/alice/conversations", bearer(token(key=key, alg=alg))
        )
        assert good.status_code == 200
        for forged in (confused_token(pem), unsigned_token(), token(key=SECRET, alg="HS256")):
            refused = await _status(address, "GET", "/users/alice/conversations", bearer(forged))
            assert refused.status_code == 401, forged
            assert (await handshake(address, "/ws/alice", bearer(forged))).status_code == 401


async def test_admin_endpoints_manage_keys_for_an_admin_key_only(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = {"X-API-Key": (await keys.create("root", user_id=None, admin=True)).key}
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        base = f"http://{address}/admin/api-keys"
        created = await http.post(base, json={"name": "carol's", "user_id": "carol"}, headers=admin)
        assert created.status_code == 201, created.text
        carol = {"X-API-Key": created.json()["key"]}
        mine = await http.get(f"http://{address}/users/carol/conversations", headers=carol)
        assert mine.status_code == 200
        refused = await http.get(base, headers=carol)  # a user's key is no admin's
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        listed = (await http.get(base, headers=admin)).json()
        assert [(k["name"], k["user_id"], k["admin"]) for k in listed] == [
            ("root", None, True),
            ("carol's", "carol", False),
        ]
        assert all("key" not in k and "key_hash" not in k for k in listed)
        both = await http.post(
            base, json={"name": "x", "user_id": "a", "admin": True}, headers=admin
        )
        assert (both.status_code, both.json()["code"]) == (400, "invalid_request")
        key_id = created.json()["key_id"]
        assert (await http.delete(f"{base}/{key_id}", headers=admin)).status_code == 204
        assert (await http.delete(f"{base}/{key_id}", headers=admin)).status_code == 404
        gone = await http.get(f"http://{address}/users/carol/conversations", headers=carol)
        assert gone.status_code == 401


async def test_without_authentication_nobody_is_an_admin(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        response = await http.post(
            f"http://{address}/admin/api-keys", json={"name": "x", "admin": True}
        )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


async def test_without_authentication_credentials_are_ignored_not_refused(
    settings: Settings,
) -> None:
    # A gateway in front may pass its own Authorization header along.
    async with serve_threadline(settings) as address:
        headers = {"Authorization": "Basic Z2F0ZXdheTpwdw=="}
        assert (
            await _status(address, "GET", "/users/alice/conversations", headers)
        ).status_code == 200
        assert (await handshake(address, "/ws/alice", headers)).status_code == 101


async def test_a_refused_handshake_logs_no_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Anyone without credentials may knock: the log at ERROR must stay for real failures.
    limited = jwt_settings(settings, max_sockets_per_user=1, allowed_origins="https://a.example")
    caplog.set_level(logging.INFO)
    async with serve_threadline(limited) as address:
        refused = [
            await handshake(address, "/ws/alice"),
            await handshake(address, "/ws/alice", bearer(token("bob"))),
            await handshake(address, "/ws/alice", {"Origin": "https://evil.example"}),
        ]
        async with connect(address, "alice", headers=bearer(token("alice"))):
            refused.append(await handshake(address, "/ws/alice", bearer(token("alice"))))

    assert [answer.status_code for answer in refused] == [401, 403, 403, 429]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert any("WebSocket /ws/alice" in r.getMessage() for r in caplog.records)  # logs were seen
