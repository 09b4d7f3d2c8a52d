"""The turns of this process that are waiting or running, found by conversation or user."""

from __future__ import annotations

from collections import Counter

from threadline.chat.turns.turn import Turn

__all__ = ("LiveTurns",)


class LiveTurns:
    """Turns from acceptance until their task ends, oldest first per conversation."""

    def __init__(self) -> None:
        self._by_conversation: dict[str, list[Turn]] = {}
        self._per_user: Counter[str] = Counter()

    def add(self, turn: Turn) -> None:
        """Count `turn` as live."""
        self._by_conversation.setdefault(turn.conversation_id, []).append(turn)
        self._per_user[turn.user_id] += 1

    def discard(self, turn: Turn) -> None:
        """Forget `turn`: it ran, or will never run."""
        turns = self._by_conversation.get(turn.conversation_id, [])
        if turn not in turns:
            return
        turns.remove(turn)
        if not turns:
            del self._by_conversation[turn.conversation_id]
        self._per_user[turn.user_id] -= 1
        if self._per_user[turn.user_id] <= 0:
            del self._per_user[turn.user_id]

    def of_user(self, user_id: str) -> int:
        """How many turns of the user are live, across conversations."""
        return self._per_user[user_id]

    def of_conversation(self, conversation_id: str) -> list[Turn]:
        """The conversation's live turns, oldest first."""
        return list(self._by_conversation.get(conversation_id, []))

    def all(self) -> list[Turn]:
        """Every live turn."""
        return [turn for turns in self._by_conversation.values() for turn in turns]

    def find(self, conversation_id: str, client_message_id: str) -> Turn | None:
        """The live turn for this client message, if any."""
        turns = self._by_conversation.get(conversation_id, [])
        return next((t for t in turns if t.client_message_id == client_message_id), None)

    def current(self, conversation_id: str) -> Turn | None:
        """The conversation's running turn, if one is running."""
        turns = self._by_conversation.get(conversation_id, [])
        return next((t for t in turns if t.running), None)
