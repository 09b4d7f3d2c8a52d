"""One entry point for credentials, whatever the mode: API key, JWT or ticket."""

from __future__ import annotations

from threadline.identity.jwks import JwksKeys, KeySource, PemKey, SecretKey
from threadline.identity.keys import ApiKeys, looks_like_key
from threadline.identity.principal import Principal, Unauthenticated
from threadline.identity.revocations import Revocations
from threadline.identity.tickets import Tickets
from threadline.identity.tokens import JwtVerifier
from threadline.settings import Settings
from threadline.storage.database import Pool

__all__ = ("Authenticator", "build_authenticator", "jwt_verifier")


class Authenticator:
    """Turns a presented credential into the principal it proves."""

    def __init__(
        self,
        keys: ApiKeys,
        tickets: Tickets,
        tokens: JwtVerifier | None,
        revocations: Revocations,
        *,
        on: bool,
    ) -> None:
        self.keys = keys
        self.tickets = tickets
        self._tokens = tokens
        # Where open sockets learn that the API key they were opened with was revoked.
        self.revocations = revocations
        self.on = on

    async def credential(self, credential: str | None) -> Principal:
        """The principal behind an `Authorization: Bearer` value or an `X-API-Key`.

        Only asked when `on` (AUTH_MODE=none trusts the path without asking).

        Raises:
            Unauthenticated: Missing, unknown, revoked, forged or expired.
        """
        if not credential:
            raise Unauthenticated("credentials are required: a bearer token or an API key")
        if looks_like_key(credential):
            principal = await self.keys.verify(credential)
            if principal is None:
                raise Unauthenticated("the API key is unknown or revoked")
            return principal
        if self._tokens is None:
            raise Unauthenticated("the credential is not an API key")
        return await self._tokens.verify(credential)

    async def ticket(self, ticket: str) -> Principal:
        """The principal a WebSocket ticket was issued to; it is used up.

        Raises:
            Unauthenticated: Unknown, already used or expired, or its API key revoked.
        """
        return await self.tickets.redeem(ticket)


def _key_source(settings: Settings) -> KeySource:
    if settings.jwt_secret is not None:
        return SecretKey(settings.jwt_secret.get())
    if settings.jwt_public_key is not None:
        return PemKey(settings.jwt_public_key)
    assert settings.jwt_jwks_url is not None  # noqa: S101 - Settings checks one is set
    return JwksKeys(settings.jwt_jwks_url)


def jwt_verifier(settings: Settings) -> JwtVerifier | None:
    """The JWT verifier AUTH_MODE=jwt asks for (None in other modes).

    Raises:
        SettingsError: JWT_PUBLIC_KEY is not a usable public key.
    """
    if settings.auth_mode != "jwt":
        return None
    return JwtVerifier(
        _key_source(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=settings.jwt_leeway,
        user_claim=settings.jwt_user_claim,
    )


def build_authenticator(
    settings: Settings, pool: Pool, tokens: JwtVerifier | None
) -> Authenticator:
    """The authenticator for AUTH_MODE, with keys and tickets stored in `pool`."""
    on = settings.auth_mode != "none"
    return Authenticator(ApiKeys(pool), Tickets(pool), tokens, Revocations(pool), on=on)
