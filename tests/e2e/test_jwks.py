"""An identity provider's key set: fetched without blocking, cached, and fetched again when
a token names a new key, so keys rotate in the middle of a run without a restart."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar, get

from tests.credentials import bearer, ec_key, handshake, jwk, rsa_key, token
from tests.e2e.test_auth_matrix import jwt_settings
from tests.polling import eventually
from tests.serving import serve_app, serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@dataclass
class IdentityProvider:
    """Serves `/jwks.json` with whatever keys it lists now, and counts the fetches."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0

    def app(self) -> Litestar:
        @get("/jwks.json", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            self.fetches += 1
            return {"keys": self.keys}

        return Litestar([jwks])


async def _list(address: str, credential: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{address}/users/alice/conversations", headers=bearer(credential)
        )
    return response.status_code


async def test_keys_rotate_mid_run_through_the_jwks(settings: Settings) -> None:
    provider = IdentityProvider(keys=[jwk(rsa_key("old"), "k1")])
    old = token(key=rsa_key("old"), alg="RS256", kid="k1")
    new = token(key=ec_key("new"), alg="ES256", kid="k2")
    async with serve_app(provider.app()) as idp:
        configured = jwt_settings(settings, jwt_secret=None, jwt_jwks_url=f"http://{idp}/jwks.json")
        async with serve_threadline(configured) as address:
            assert await _list(address, old) == 200
            async with connect(address, "alice", headers=bearer(old)) as chat:
                assert (await chat.turn("before")).reply["content"]
            assert await _list(address, old) == 200
            assert provider.fetches == 1  # cached, not fetched per request
            assert await _list(address, new) == 401  # k2 is not published yet

            provider.keys = [jwk(ec_key("new"), "k2")]  # the provider rotates

            async def accepted() -> bool:
                return await _list(address, new) == 200

            await eventually(accepted, every=0.2)  # refetches for unknown kids: 1 s apart
            async with connect(address, "alice", headers=bearer(new)) as chat:
                assert (await chat.turn("after")).reply["content"]
            # The dropped key no longer verifies anything.
            assert await _list(address, old) == 401
            assert (await handshake(address, "/ws/alice", bearer(old))).status_code == 401
            # A flood of made-up kids does not become a flood of fetches.
            fetches, started = provider.fetches, time.monotonic()
            for n in range(20):
                forged = token(key=rsa_key("old"), alg="RS256", kid=f"forged{n}")
                assert await _list(address, forged) == 401
            # At most one fetch a second, however many forged kids arrive meanwhile.
            assert provider.fetches - fetches <= 1 + time.monotonic() - started


async def test_an_unreachable_provider_refuses_tokens_without_failing_requests(
    settings: Settings,
) -> None:
    configured = jwt_settings(
        settings, jwt_secret=None, jwt_jwks_url="http://127.0.0.1:9/jwks.json"
    )
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{address}/users/alice/conversations",
            headers=bearer(token(key=rsa_key("old"), alg="RS256", kid="k1")),
        )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
