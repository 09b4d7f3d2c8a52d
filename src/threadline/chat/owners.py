"""Conversations lately found to be their user's, so a turn need not ask the index first."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ("RecentOwners",)


class RecentOwners:
    """(user, conversation) pairs this process saw owned, the least recently used forgotten.

    Only starting a turn relies on it: the turn's lease is taken only while the
    conversation is still its user's (`leases.hold(only_if=...)`), so a conversation
    deleted since (from another tab or server) still ends the turn as
    `conversation_not_found`, before anything is stored. Measured: one statement of the
    nine a turn made. Keys carry the user, so nobody else ever finds an entry.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._pairs: OrderedDict[tuple[str, str], None] = OrderedDict()

    def knows(self, user_id: str, conversation_id: str) -> bool:
        """Whether the conversation was lately found to be `user_id`'s."""
        key = (user_id, conversation_id)
        if key not in self._pairs:
            return False
        self._pairs.move_to_end(key)
        return True

    def remember(self, user_id: str, conversation_id: str) -> None:
        """Note that the conversation is `user_id`'s (just checked, or just created)."""
        self._pairs[user_id, conversation_id] = None
        self._pairs.move_to_end((user_id, conversation_id))
        if len(self._pairs) > self._size:
            self._pairs.popitem(last=False)

    def forget(self, user_id: str, conversation_id: str) -> None:
        """Drop one pair (the conversation was deleted here)."""
        self._pairs.pop((user_id, conversation_id), None)

    def clear(self) -> None:
        """Drop every pair (many conversations were deleted at once)."""
        self._pairs.clear()
