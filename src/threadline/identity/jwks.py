"""The keys a JWT may be signed with: a shared secret, a PEM public key, or a JWKS URL.

Each source answers, for a token's header, the key and the one algorithm family that key
is for. The algorithm is never taken from the token alone: a token claiming `none`, or
HS256 against an RSA key (the classic confusion attack), finds no key and is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from threadline.identity.principal import Unauthenticated
from threadline.settings import SettingsError

__all__ = ("JwksKeys", "KeySource", "PemKey", "SecretKey")

logger = logging.getLogger(__name__)

# Asymmetric algorithms a JWKS key may name. Symmetric ("oct") keys in a key set are
# ignored: a public document must never hold a secret that verifies tokens.
_ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})


class KeySource(Protocol):
    """Where the verifier finds the key for a token."""

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        """The key that must have signed a token with `header`, and its algorithms."""


class SecretKey:
    """A shared secret (`JWT_SECRET`): HS256 only."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:  # noqa: ARG002
        """The secret, for HS256 (whatever the token's header says)."""
        return self._secret, ["HS256"]


class PemKey:
    """A public key (`JWT_PUBLIC_KEY`, PEM text or a file): RS256 or ES256 by its type."""

    def __init__(self, pem_or_path: str) -> None:
        try:
            key = load_pem_public_key(_pem_text(pem_or_path).encode())
        except (OSError, ValueError):
            key = None
        if isinstance(key, RSAPublicKey):
            self._algorithms = ["RS256"]
        elif isinstance(key, EllipticCurvePublicKey):
            self._algorithms = ["ES256"]
        else:
            msg = "invalid setting JWT_PUBLIC_KEY: not a readable RSA or EC public key in PEM"
            raise SettingsError(msg)
        self._key = key

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:  # noqa: ARG002
        """The key, for its one algorithm (whatever the token's header says)."""
        return self._key, self._algorithms


def _pem_text(pem_or_path: str) -> str:
    r"""The PEM itself, from the text (`\n` escapes allowed, as in a .env line) or a file."""
    text = pem_or_path.strip()
    if not text.startswith("-----BEGIN"):
        text = Path(text).read_text(encoding="ascii")
    return text.replace("\\n", "\n")


class JwksKeys:
    """An identity provider's key set, fetched without blocking and cached.

    A token naming an unknown `kid` makes the set be fetched again (at most once per
    `refetch_after` seconds, so forged kids cannot flood the provider): keys can rotate
    without a restart, and a key dropped from the set stops working.
    """

    def __init__(
        self, url: str, *, max_age: float = 600.0, refetch_after: float = 1.0, timeout: float = 5.0
    ) -> None:
        self._url = url
        self._max_age = max_age
        self._refetch_after = refetch_after
        self._timeout = timeout
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._fetching = asyncio.Lock()

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        """The set's key named by the token's `kid` (the only key, if it names none)."""
        kid = header.get("kid")
        now = time.monotonic()
        stale = now - self._fetched_at > self._max_age
        if stale or (kid not in self._keys and now - self._fetched_at > self._refetch_after):
            await self._refresh()
        found = self._keys.get(kid)
        if found is None and kid is None and len(self._keys) == 1:
            found = next(iter(self._keys.values()))
        if found is None:
            raise Unauthenticated(
                "the token is signed with a key the identity provider does not list"
            )
        return found.key, [found.algorithm_name]

    async def _refresh(self) -> None:
        fetched_at = self._fetched_at
        async with self._fetching:
            if self._fetched_at != fetched_at:
                return  # another request fetched the set while this one waited
            try:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(self._url)
                    response.raise_for_status()
                self._keys = _usable_keys(response.json())
            except (httpx.HTTPError, ValueError) as error:
                logger.warning("jwks.fetch_failed", extra={"error": type(error).__name__})
            # A failed fetch also counts, so an unreachable provider is not asked per request.
            self._fetched_at = time.monotonic()


def _usable_keys(document: Any) -> dict[str | None, jwt.PyJWK]:
    """The signing keys of a JWKS document, by kid; unusable entries are skipped."""
    keys: dict[str | None, jwt.PyJWK] = {}
    entries = document.get("keys", []) if isinstance(document, dict) else []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in _ASYMMETRIC:
            keys[entry.get("kid")] = key
    return keys
