"""Decoded checkpoint blobs, remembered: a thread's stored writes are read again and again.

The `messages` channel is a `DeltaChannel` (see `graph`): loading a thread replays every
write since the window's last snapshot, up to a few hundred, and each turn loads it again.
Decoding those blobs (msgpack, zlib, and building the message objects) was most of the
CPU a turn spent outside the model. A stored blob never changes, so the same bytes always
decode to the same value: this keeps recent results, within a memory budget.

Every read gets its own copy of the remembered value. A graph node may change a message
it loaded in place (its content, a dict in its metadata): if readers shared the decoded
objects, that change would reach every later load of the thread, though nothing stored
changed. The copy is structural (dicts, lists and pydantic models rebuilt, strings and
numbers shared, anything else deep-copied): about a third of the cost of decoding again
(measured: 8 µs against 28 µs for a 1 KB message). The saver decodes in worker threads
too, so the bookkeeping is under a lock (decoding and copying are not).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from pydantic import BaseModel

__all__ = ("DEFAULT_DECODE_CACHE", "MEMORY_PER_STORED_BYTE", "MemoizingSerializer", "thawed")

# Past the budget, the least recently read blobs are forgotten and decoded again if needed.
DEFAULT_DECODE_CACHE = 64 * 1024 * 1024
# Memory held per stored byte: the key (the blob itself) plus the decoded messages, which
# measured 4.2 times the compressed bytes for chat messages of about 1 KB.
MEMORY_PER_STORED_BYTE = 5
# A blob this large (a window snapshot of a huge context) is decoded every time instead.
_LARGEST = 1024 * 1024
_MISSING = object()
_IMMUTABLE = (str, int, float, bool, bytes, type(None))


def thawed(value: Any) -> Any:
    """A copy of `value` that its reader may change without changing `value`."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is list:
        return [thawed(item) for item in value]
    if kind is dict:
        return {key: thawed(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(thawed(item) for item in value)
    if isinstance(value, BaseModel):
        clone = copy.copy(value)  # pydantic's own: a new __dict__, fields set, extras
        fields = clone.__dict__
        for name, item in fields.items():
            if type(item) not in _IMMUTABLE:
                fields[name] = thawed(item)
        return clone
    return copy.deepcopy(value)


class MemoizingSerializer(SerializerProtocol):
    """Wraps a serializer; `loads_typed` remembers what recent blobs decoded to."""

    def __init__(self, serde: SerializerProtocol, memory_bytes: int = DEFAULT_DECODE_CACHE) -> None:
        self._serde = serde
        self._budget = memory_bytes // MEMORY_PER_STORED_BYTE  # in stored bytes
        self._size = 0
        self._decoded: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
        self._lock = threading.Lock()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize with the wrapped serializer."""
        return self._serde.dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize `(type, bytes)`, from memory when these bytes were decoded lately."""
        kind, blob = data
        if not isinstance(blob, bytes) or len(blob) > _LARGEST:
            return self._serde.loads_typed(data)
        key = (kind, blob)
        with self._lock:
            value = self._decoded.get(key, _MISSING)
            if value is not _MISSING:
                self._decoded.move_to_end(key)
        if value is _MISSING:
            value = self._serde.loads_typed(data)
            self._remember(key, value)
        return thawed(value)

    def _remember(self, key: tuple[str, bytes], value: Any) -> None:
        with self._lock:
            if key in self._decoded:
                return  # another thread decoded the same blob meanwhile
            self._decoded[key] = value
            self._size += len(key[1])
            while self._size > self._budget:
                (_, forgotten), _ = self._decoded.popitem(last=False)
                self._size -= len(forgotten)
