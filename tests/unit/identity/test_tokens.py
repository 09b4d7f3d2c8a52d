"""JWT checks that need no server: each refusal says which check failed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import pytest

from tests.credentials import (
    AUDIENCE,
    ISSUER,
    SECRET,
    claims,
    confused_token,
    public_pem,
    rsa_key,
    token,
    unsigned_token,
)
from threadline.identity.jwks import PemKey, SecretKey
from threadline.identity.principal import Unauthenticated
from threadline.identity.tokens import JwtVerifier
from threadline.settings import SettingsError

pytestmark = pytest.mark.anyio


def _verifier(key: SecretKey | PemKey, user_claim: str = "sub") -> JwtVerifier:
    return JwtVerifier(key, issuer=ISSUER, audience=AUDIENCE, leeway=0, user_claim=user_claim)


async def test_a_good_token_names_its_user_and_expiry() -> None:
    exp = int(time.time()) + 60
    principal = await _verifier(SecretKey(SECRET)).verify(token("alice", exp=exp))
    assert (principal.user_id, principal.admin, principal.expires_at, principal.via) == (
        "alice",
        False,
        exp,
        "jwt",
    )


def _with_header(**fields: object) -> str:
    """A good token whose header also carries `fields` (signed, though PyJWT would not)."""
    header = {"alg": "HS256", "typ": "JWT", **fields}
    signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(claims()))}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# Made when the test runs, not when it is collected: a token made then would have
# expired by the time a long run reaches the test.
@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda: token(exp=int(time.time()) - 5), "expired"),
        (lambda: token(nbf=int(time.time()) + 600), "not valid yet"),
        (lambda: token(aud="other"), "audience"),
        (lambda: token(iss="https://evil/"), "issuer"),
        (lambda: token(exp=None), r"lacks a required claim \(exp\)"),
        (lambda: token(iss=None), r"lacks a required claim \(iss\)"),
        (lambda: token(aud=None), r"lacks a required claim \(aud\)"),
        (lambda: token(exp="soon"), "malformed"),
        (lambda: token(iat="then"), r"\(iat\) is not a number"),
        (lambda: _with_header(crit=["b64"]), r"critical extension \(crit\)"),
        (lambda: _with_header(crit=["x-custom"], **{"x-custom": 1}), r"\(crit\)"),
        (lambda: _with_header(kid=5), r"\(kid\)"),
        (lambda: token(key="wrong-secret-but-long-enough-for-hmac"), "signature"),
        (unsigned_token, "algorithm"),
        (lambda: "not-a-jwt", "neither a JWT nor an API key"),
        (lambda: token("has space"), "not a valid user id"),
        (lambda: token("alice\n"), "not a valid user id"),
    ],
)
async def test_each_failed_check_is_named(forge: Callable[[], str], reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        await _verifier(SecretKey(SECRET)).verify(forge())


async def test_a_public_key_never_verifies_an_hmac_token() -> None:
    pem = public_pem(rsa_key())
    with pytest.raises(Unauthenticated, match="algorithm"):
        await _verifier(PemKey(pem)).verify(confused_token(pem))


async def test_the_user_may_come_from_another_claim() -> None:
    principal = await _verifier(SecretKey(SECRET), "email").verify(token("x", email="a@b.example"))
    assert principal.user_id == "a@b.example"


def test_an_unreadable_public_key_is_a_settings_error(tmp_path: object) -> None:
    with pytest.raises(SettingsError, match="JWT_PUBLIC_KEY"):
        PemKey("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----")
    with pytest.raises(SettingsError, match="JWT_PUBLIC_KEY"):
        PemKey("/no/such/file.pem")
    assert PemKey(public_pem(rsa_key()).replace("\n", "\\n"))  # as a .env line holds it
