"""Credentials for tests: signing keys, JWTs (good and forged), API keys, raw handshakes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx
import jwt
import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from threadline.identity.keys import ApiKeys

SECRET = "test-secret-that-is-long-enough-for-hs256"  # noqa: S105 - a test signing key
ISSUER = "https://login.test/"
AUDIENCE = "threadline"


@cache
def rsa_key(name: str = "rsa") -> rsa.RSAPrivateKey:
    """An RSA private key, one per name for the whole run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key(name: str = "ec") -> ec.EllipticCurvePrivateKey:
    """A P-256 private key, one per name for the whole run."""
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """The public half of `key`, as PEM text."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def claims(user: str = "alice", **changes: Any) -> dict[str, Any]:
    """Valid claims for `user`, with `changes` applied (None removes a claim)."""
    now = int(time.time())
    values: dict[str, Any] = {"sub": user, "iss": ISSUER, "aud": AUDIENCE, "iat": now}
    values["exp"] = now + 300
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def token(
    user: str = "alice",
    *,
    key: PrivateKeyTypes | str = SECRET,
    alg: str = "HS256",
    kid: str | None = None,
    **changes: Any,
) -> str:
    """A JWT for `user`, signed with `key`."""
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims(user, **changes), key, algorithm=alg, headers=headers)  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(user: str = "alice") -> str:
    """A token with `alg: none` and no signature, as an attacker would forge it."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims(user)).encode())}."


def confused_token(public_key_pem: str, user: str = "alice") -> str:
    """HS256 keyed with the server's *public* key: the algorithm-confusion attack."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = f"{header}.{_b64(json.dumps(claims(user)).encode())}"
    signature = hmac.new(public_key_pem.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK of `key`, as an identity provider's JWKS lists it."""
    if isinstance(key, rsa.RSAPrivateKey):
        text, alg = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()), "RS256"
    else:
        text, alg = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()), "ES256"
    entry: dict[str, Any] = json.loads(text)
    entry.update(kid=kid, use="sig", alg=alg)
    return entry


@asynccontextmanager
async def api_keys(database_url: str) -> AsyncIterator[ApiKeys]:
    """The API keys of the test's database, as `threadline api-key` manages them."""
    async with AsyncConnectionPool(
        database_url, min_size=1, max_size=2, kwargs={"autocommit": True, "row_factory": dict_row}
    ) as pool:
        yield ApiKeys(pool)  # type: ignore[arg-type]


def bearer(credential: str) -> dict[str, str]:
    """The Authorization header presenting `credential`."""
    return {"Authorization": f"Bearer {credential}"}


async def handshake(
    address: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Open a WebSocket handshake and return the server's answer (101, or its refusal, read)."""
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode(),
        **(headers or {}),
    }
    async with (
        httpx.AsyncClient() as http,
        http.stream("GET", f"http://{address}{path}", headers=upgrade) as response,
    ):
        if response.status_code != 101:
            await response.aread()
        return response


async def row_count(database_url: str, table: str) -> int:
    """Rows in `table` of the test's database."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()  # noqa: S608
        assert row is not None
        return int(row[0])
