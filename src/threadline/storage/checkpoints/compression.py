"""Checkpoint blobs compressed with zlib: the same saver and tables, a third of the bytes.

PostgreSQL compresses a value only when its row passes about 2 KB, and a chat message is
usually smaller, so without this every message is stored at full size. This wraps the
saver's serializer the way LangGraph's own `EncryptedSerializer` does: the blob's type gets
a suffix (`msgpack+zlib`), and blobs without one, written before or left small, load as
they are.
"""

from __future__ import annotations

import zlib
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

__all__ = ("CompressedSerializer",)

_SUFFIX = "+zlib"
# Smaller values barely compress, and zlib's header would eat the gain.
_MIN_SIZE = 200
# Level 6 (zlib's default) compresses a 1 KB message in tens of microseconds.
_LEVEL = 6


class CompressedSerializer(SerializerProtocol):
    """Compresses msgpack blobs that shrink; loads compressed and plain blobs alike."""

    def __init__(self, serde: SerializerProtocol | None = None) -> None:
        self._serde = serde or JsonPlusSerializer()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize `obj` to `(type, bytes)`, compressed when that makes it smaller."""
        kind, data = self._serde.dumps_typed(obj)
        # Only msgpack: other types ("empty", "null", ...) are markers the saver's SQL reads.
        if kind != "msgpack" or len(data) < _MIN_SIZE:
            return kind, data
        packed = zlib.compress(data, _LEVEL)
        return (kind + _SUFFIX, packed) if len(packed) < len(data) else (kind, data)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize a `(type, bytes)` pair written by this or the plain serializer."""
        kind, blob = data
        if kind.endswith(_SUFFIX):
            return self._serde.loads_typed((kind.removesuffix(_SUFFIX), zlib.decompress(blob)))
        return self._serde.loads_typed(data)
