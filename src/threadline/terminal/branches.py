"""Edit and branch at the terminal: `/edit TEXT` and `/branch N` become frames.

`/edit` replaces the conversation's last user message (its id comes from the `ack` of
the message, or from `history`); `/branch N` shows version N of the newest message that
has other versions, as the latest `history` listed them (`branch.sibling_ids`).
"""

from __future__ import annotations

from typing import Any

__all__ = ("BRANCHING", "Branches")

# The commands that edit or switch branches.
BRANCHING = frozenset({"edit", "branch"})


class Branches:
    """The open conversation's last user message, and its newest message with versions."""

    def __init__(self) -> None:
        self._last_user: str | None = None
        self._versions: list[str] = []  # sibling ids of the newest message that has some

    def reset(self) -> None:
        """Another conversation: nothing is known of it until its history."""
        self._last_user, self._versions = None, []

    def acked(self, frame: dict[str, Any]) -> None:
        """An `ack` names the user message its reply answers: the last one now."""
        self._last_user = frame["message_id"]

    def listed(self, frame: dict[str, Any]) -> None:
        """A `history` frame: the current path as it reads."""
        messages = frame["messages"]
        users = [m["message_id"] for m in messages if m["role"] == "user"]
        self._last_user = users[-1] if users else self._last_user
        branched = [m["branch"]["sibling_ids"] for m in messages if m.get("branch")]
        self._versions = branched[-1] if branched else []

    def frame(self, name: str, argument: str, conversation_id: str) -> dict[str, Any] | str:
        """The frame for `/edit TEXT` or `/branch N`, or why there is none."""
        if name == "edit":
            if not argument:
                return "/edit TEXT: the new text of your last message"
            if self._last_user is None:
                return "no message of yours to edit here yet"
            return {
                "type": "edit",
                "conversation_id": conversation_id,
                "message_id": self._last_user,
                "message": argument,
            }
        if not self._versions:
            return "no message here has other versions (/history shows them as [2/3])"
        if not argument.isdigit() or not 1 <= int(argument) <= len(self._versions):
            return f"/branch N: N from 1 to {len(self._versions)}"
        chosen = self._versions[int(argument) - 1]
        return {"type": "switch_branch", "conversation_id": conversation_id, "message_id": chosen}
