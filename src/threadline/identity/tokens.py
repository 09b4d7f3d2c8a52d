"""JWT verification: signature, expiry, issuer and audience, then the user it names."""

from __future__ import annotations

from typing import Any

import jwt

from threadline.identity.jwks import KeySource
from threadline.identity.principal import Principal, Unauthenticated, is_user_id

__all__ = ("JwtVerifier",)

# PyJWT's exceptions, most specific first, as the detail a client is told.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is not meant for this service (audience)"),
    (jwt.InvalidIssuerError, "the token was not issued by the expected issuer"),
    (jwt.InvalidIssuedAtError, "the token's issue time (iat) is not a number"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted"),
    (jwt.DecodeError, "the token is malformed: its payload or a claim is not as JWT defines it"),
)
# The header checks PyJWT makes before any key is looked up.
_CRITICAL = "the token's header names a critical extension (crit) this service does not support"
_KEY_ID = "the token's header names its key (kid) with something other than a string"


class JwtVerifier:
    """Verifies bearer tokens from an identity provider (or one's own signer)."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str | None,
        audience: str | None,
        leeway: float,
        user_claim: str,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._user_claim = user_claim

    async def verify(self, token: str) -> Principal:
        """The user `token` names, once every check passed.

        Raises:
            Unauthenticated: The token fails a check; the detail says which.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise Unauthenticated("the credential is neither a JWT nor an API key") from None
        except jwt.PyJWTError as error:  # a readable header PyJWT refuses: `crit` or `kid`
            raise Unauthenticated(_CRITICAL if "crit" in str(error).lower() else _KEY_ID) from None
        key, algorithms = await self._keys.key_for(header)
        claims = self._decode(token, key, algorithms)
        user_id = claims.get(self._user_claim)
        if not is_user_id(user_id):
            raise Unauthenticated(f"the token's {self._user_claim} claim is not a valid user id")
        return Principal(user_id=user_id, expires_at=float(claims["exp"]), via="jwt")

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"the token lacks a required claim ({error.claim})") from None
        except jwt.PyJWTError as error:
            reason = next((text for kind, text in _REASONS if isinstance(error, kind)), None)
            raise Unauthenticated(reason or "the token is invalid") from None
        return claims
