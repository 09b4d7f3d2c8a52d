"""Messages typed but not yet stored by the server: what to send again after a reconnect."""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ("Outbox",)


class Outbox:
    """Holds each message until its `ack` (stored) or an error refuses it.

    Every message carries its own `client_message_id`, so sending one again after a
    dropped connection cannot make it twice in its conversation. A message for a new
    conversation is held back while an earlier one is starting it, so both land in the
    same conversation once the `ack` names it.
    """

    def __init__(self) -> None:
        self._frames: dict[str, dict[str, Any]] = {}
        self._sent: set[str] = set()

    def add(self, text: str, conversation_id: str | None) -> None:
        """Queue a message for `conversation_id` (None: a new conversation)."""
        frame: dict[str, Any] = {"message": text, "client_message_id": f"t-{uuid.uuid4().hex}"}
        if conversation_id is not None:
            frame["conversation_id"] = conversation_id
        self._frames[frame["client_message_id"]] = frame

    def ready(self) -> list[dict[str, Any]]:
        """The frames to send now, in order, each marked sent."""
        frames = []
        starting = False
        for key, frame in self._frames.items():
            new = "conversation_id" not in frame
            if new and starting:
                break  # waits for the ack that names the conversation
            starting = starting or new
            if key not in self._sent:
                self._sent.add(key)
                frames.append(frame)
        return frames

    def unsent_all(self) -> None:
        """The connection dropped: every message not stored must be sent again."""
        self._sent.clear()

    def stored(self, client_message_id: str | None, conversation_id: str) -> None:
        """The server acknowledged a message: forget it; held ones join its conversation."""
        frame = self._frames.pop(client_message_id or "", None)
        if frame is None or "conversation_id" in frame:
            return
        for waiting in self._frames.values():
            waiting.setdefault("conversation_id", conversation_id)

    def refused(self) -> None:
        """An error answered the oldest message sent: it is not stored, so drop it."""
        for key in self._frames:
            if key in self._sent:
                del self._frames[key]
                self._sent.discard(key)
                return

    def __len__(self) -> int:
        return len(self._frames)
