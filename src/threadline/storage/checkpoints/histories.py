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
readers share an object.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ("HistoryCache",)

# A turn's reads of its thread come milliseconds apart: a small memory serves them, even
# with many turns at once. A history of more rows than this (a long tail of tool results
# since the last snapshot) is read again instead.
_ENTRIES = 128
_MOST_ROWS = 400

Key = tuple[str, str, str, tuple[str, ...]]


class HistoryCache:
    """The query results of the last `_ENTRIES` histories read, least recent forgotten."""

    def __init__(self, entries: int = _ENTRIES) -> None:
        self._entries = entries
        self._found: OrderedDict[Key, Mapping[str, Any]] = OrderedDict()

    @staticmethod
    def key(thread_id: str, namespace: str, checkpoint_id: str, channels: Sequence[str]) -> Key:
        """What a history is remembered under."""
        return (thread_id, namespace, checkpoint_id, tuple(channels))

    def get(self, key: Key) -> Mapping[str, Any] | None:
        """What the queries found for `key`, if it is remembered."""
        found = self._found.get(key)
        if found is not None:
            self._found.move_to_end(key)
        return found

    def put(self, key: Key, found: Mapping[str, Any], rows: int) -> None:
        """Remember what the queries found (`rows` of them) for `key`."""
        if rows > _MOST_ROWS:
            return
        self._found[key] = found
        self._found.move_to_end(key)
        while len(self._found) > self._entries:
            self._found.popitem(last=False)

    def forget_thread(self, thread_id: str) -> None:
        """Drop every history of a deleted thread."""
        for key in [key for key in self._found if key[0] == thread_id]:
            del self._found[key]
