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

A blob not read for `idle_seconds` is forgotten too (when another is remembered): what the
cache holds follows the conversations active now, not every one the process has served.
Its decoded messages are objects the garbage collector tracks, and every full collection
walks them all: kept until the memory budget was full, they made each turn dearer round
after round of new conversations (see docs/performance.md).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from pydantic import BaseModel

__all__ = (
    "DEFAULT_CACHE_IDLE",
    "DEFAULT_DECODE_CACHE",
    "MEMORY_PER_STORED_BYTE",
    "MemoizingSerializer",
    "thawed",
)

# Seconds a remembered blob (or the mirror's thread) stays without being read.
DEFAULT_CACHE_IDLE = 60.0
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

    def __init__(
        self,
        serde: SerializerProtocol,
        memory_bytes: int = DEFAULT_DECODE_CACHE,
        idle_seconds: float = DEFAULT_CACHE_IDLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._serde = serde
        self._budget = memory_bytes // MEMORY_PER_STORED_BYTE  # in stored bytes
        self._idle = idle_seconds
        self._clock = clock
        self._size = 0
        # Least recently read first; with when each was read last.
        self._decoded: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
        self._read_at: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()

    def remembered(self) -> int:
        """How many blobs are remembered now (not `__len__`: an empty one is still a serde)."""
        return len(self._decoded)

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
                self._read_at[key] = self._clock()
        if value is _MISSING:
            value = self._serde.loads_typed(data)
            self._remember(key, value)
        return thawed(value)

    def _remember(self, key: tuple[str, bytes], value: Any) -> None:
        with self._lock:
            if key in self._decoded:
                return  # another thread decoded the same blob meanwhile
            now = self._clock()
            self._decoded[key] = value
            self._read_at[key] = now
            self._size += len(key[1])
            stale = now - self._idle
            while self._decoded and (
                self._size > self._budget or self._read_at[next(iter(self._decoded))] < stale
            ):
                forgotten, _ = self._decoded.popitem(last=False)
                del self._read_at[forgotten]
                self._size -= len(forgotten[1])
