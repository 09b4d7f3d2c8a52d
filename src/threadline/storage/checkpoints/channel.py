"""The window's channel as stored: its name, and how its writes add up to a message list.

The storage code (`pending`, `ledger`) reads and writes this channel's rows directly, and
the engine's graph reduces it with the same function, so the format is defined once, here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage, convert_to_messages

__all__ = ("FOLDED", "MESSAGES_CHANNEL", "merge_messages")

# The state key, and so the channel name, of the window; the checkpoint tables are read by
# it directly (see `ledger` and `pending`).
MESSAGES_CHANNEL = "messages"
# The name of a `RemoveMessage` that only takes a message out of the model's window (it
# was folded into the summary); the transcript keeps it. Other removals delete.
FOLDED = "folded"


def merge_messages(by_id: dict[str, AnyMessage], written: Any, *, transcript: bool = False) -> None:
    """Apply one write to the `messages` channel, as `add_messages` would, in place.

    A message replaces the one with its id where it stands, or else goes last; a
    `RemoveMessage` deletes. A dict keeps insertion order, so this costs one step per
    written message instead of `add_messages`' pass over the whole list per write.

    Args:
        by_id: The messages so far, by id, in order.
        written: What a node (or an update) wrote: a message or a list of them.
        transcript: Keep messages that were only folded out of the model's window.
    """
    items = written if isinstance(written, list | tuple) else [written]
    # Coerced as add_messages does (dicts, tuples). Stored writes are messages already,
    # and loading a thread replays hundreds of them, so they skip the conversion.
    messages: Sequence[Any] = (
        items if all(isinstance(m, BaseMessage) for m in items) else convert_to_messages(items)
    )
    for message in messages:
        if isinstance(message, RemoveMessage):
            if not (transcript and message.name == FOLDED):
                by_id.pop(message.id or "", None)
            continue
        if message.id is None:
            message.id = str(uuid.uuid4())
        by_id[message.id] = message
