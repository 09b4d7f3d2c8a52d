"""API keys: created by an operator, shown once, stored only as a hash, revocable.

Keys are 256 random bits, so a plain SHA-256 is as strong as a slow password hash here
and costs a microsecond per request instead of tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import msgspec
from psycopg.rows import class_row

from threadline.identity.principal import Principal
from threadline.storage.database import Pool

__all__ = ("KEY_PREFIX", "ApiKey", "ApiKeys", "NewKey", "looks_like_key")

# Every key starts with this, so a credential is told apart from a JWT without a lookup,
# and secret scanners can recognize a leaked one.
KEY_PREFIX = "tl_"

_INSERT = """
INSERT INTO threadline_api_keys (key_id, key_hash, name, user_id, admin)
VALUES (%s, %s, %s, %s, %s)
RETURNING key_id, name, user_id, admin, created_at, revoked_at
"""
_LIST = """
SELECT key_id, name, user_id, admin, created_at, revoked_at FROM threadline_api_keys
ORDER BY created_at, key_id
"""
_REVOKE = """
UPDATE threadline_api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL
"""
_FIND = """
SELECT key_id, user_id, admin FROM threadline_api_keys WHERE key_hash = %s AND revoked_at IS NULL
"""


class ApiKey(msgspec.Struct, kw_only=True):
    """An API key as listed: everything but the key."""

    key_id: str
    name: str
    user_id: str | None
    admin: bool
    created_at: datetime
    revoked_at: datetime | None = None


class NewKey(msgspec.Struct):
    """A key just created: `key` is shown this once."""

    key: str
    info: ApiKey


def looks_like_key(credential: str) -> bool:
    """Whether `credential` has the shape of a Threadline API key."""
    return credential.startswith(KEY_PREFIX)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The API keys stored in the database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def create(self, name: str, *, user_id: str | None, admin: bool) -> NewKey:
        """Create a key acting as `user_id`, or an admin key (user_id None, admin True)."""
        if admin == (user_id is not None):
            msg = "a key is either a user's or an admin key"
            raise ValueError(msg)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(6)
        async with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=class_row(ApiKey)) as cur,
        ):
            await cur.execute(_INSERT, (key_id, _hash(key), name, user_id, admin))
            info = await cur.fetchone()
        assert info is not None  # noqa: S101 - INSERT ... RETURNING returns the row
        return NewKey(key, info)

    async def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        async with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=class_row(ApiKey)) as cur,
        ):
            await cur.execute(_LIST)
            return await cur.fetchall()

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key; False if no live key has this id.

        Every server refuses it from now on; the sockets it opened, directly or through a
        ticket, are closed within seconds (`revocations`).
        """
        async with self._pool.connection() as conn:
            return (await conn.execute(_REVOKE, (key_id,))).rowcount == 1

    async def verify(self, key: str) -> Principal | None:
        """The principal `key` proves, or None if it is unknown or revoked."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_FIND, (_hash(key),))).fetchone()
        if row is None:
            return None
        return Principal(row["user_id"], row["admin"], via="api_key", key_id=row["key_id"])
