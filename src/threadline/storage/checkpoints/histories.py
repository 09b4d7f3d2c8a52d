"""Delta-channel histories, remembered by checkpoint: a turn may read its thread twice.

Loading a thread replays its `messages` channel from the last snapshot, which costs two
queries beside the checkpoint's own (LangGraph's `aget_delta_channel_history`). A turn of
a client that names its messages (`client_message_id`, as the web page and the terminal
client do) reads the thread first, to answer a resend from storage, and the run then
reads it again; approvals read it too. The history of a checkpoint is the writes of its
ancestors, complete once the checkpoint exists (a turn's own pending message is a write
on the checkpoint itself, read with it, not part of its history), so what was read for a
checkpoint id stays true, on every server.

What is kept is what the queries returned (stored blobs, a few ids), not decoded
messages: each read still decodes its own copies (through the decode memory), so no two
readers share an object. The saver also puts here the history of a checkpoint it has just
written, extended from its parent's (see `mirror`): the next turn then replays its
messages without a query.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ("HistoryCache",)

# A conversation's next turn reads the history its last one left here: room for that of
# every conversation in recent use, within a bound on the blobs kept. A history of more
# rows than `_MOST_ROWS` (a long tail of tool results since the last snapshot) is read
# again instead.
_ENTRIES = 1024
_MOST_BYTES = 64 * 1024 * 1024
_MOST_ROWS = 400

Key = tuple[str, str, str, tuple[str, ...]]


class HistoryCache:
    """The query results of the last `_ENTRIES` histories read, least recent forgotten."""

    def __init__(self, entries: int = _ENTRIES, most_bytes: int = _MOST_BYTES) -> None:
        self._entries = entries
        self._most_bytes = most_bytes
        self._bytes = 0
        self._found: OrderedDict[Key, tuple[Mapping[str, Any], int]] = OrderedDict()

    @staticmethod
    def key(thread_id: str, namespace: str, checkpoint_id: str, channels: Sequence[str]) -> Key:
        """What a history is remembered under."""
        return (thread_id, namespace, checkpoint_id, tuple(channels))

    def get(self, key: Key) -> Mapping[str, Any] | None:
        """What the queries found for `key`, if it is remembered."""
        entry = self._found.get(key)
        if entry is None:
            return None
        self._found.move_to_end(key)
        return entry[0]

    def of_checkpoint(
        self, thread_id: str, namespace: str, checkpoint_id: str
    ) -> list[tuple[Key, Mapping[str, Any]]]:
        """Every history remembered for the checkpoint (one per set of channels read)."""
        where = (thread_id, namespace, checkpoint_id)
        return [(key, entry[0]) for key, entry in self._found.items() if key[:3] == where]

    def put(self, key: Key, found: Mapping[str, Any]) -> None:
        """Remember what the queries found for `key`."""
        rows: Sequence[Mapping[str, Any]] = found["stage2_rows"]
        if len(rows) > _MOST_ROWS:
            return
        self.discard(key)
        size = sum(len(row["blob"] or b"") for row in rows)
        self._found[key] = (found, size)
        self._bytes += size
        while len(self._found) > self._entries or self._bytes > self._most_bytes:
            _, (_, dropped) = self._found.popitem(last=False)
            self._bytes -= dropped

    def discard(self, key: Key) -> None:
        """Forget the history of `key`, if remembered."""
        if (entry := self._found.pop(key, None)) is not None:
            self._bytes -= entry[1]

    def forget_thread(self, thread_id: str) -> None:
        """Drop every history of a deleted thread."""
        for key in [key for key in self._found if key[0] == thread_id]:
            self.discard(key)
