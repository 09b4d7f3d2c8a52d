"""Turn order within a conversation, in this process: one at a time, first come first served.

A lane is a queue of places. A turn joins its conversation's lane when it is accepted and
waits until its place comes up; it leaves when it is done, and the next place comes up.
The lanes only order: they run nothing and call nothing back. (Across processes, turns of
a conversation are serialized by leases in the database, `storage.leases`.)
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

__all__ = ("Lanes", "Place")


@dataclass(eq=False)
class _Lane:
    holder: Place | None = None
    waiting: deque[Place] = field(default_factory=deque)


class Place:
    """A turn's place in its conversation's lane."""

    def __init__(self, lanes: Lanes, conversation_id: str) -> None:
        self._lanes = lanes
        self._conversation_id = conversation_id
        self._granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.left = False

    @property
    def granted(self) -> bool:
        """Whether this place has come up: its turn is the conversation's current one."""
        return self._granted.done()

    async def wait(self) -> None:
        """Wait until this place comes up."""
        await asyncio.shield(self._granted)

    def leave(self) -> None:
        """Leave the lane (done, or given up while waiting); the next place comes up."""
        if not self.left:
            self.left = True
            self._lanes._leave(self._conversation_id, self)

    def _grant(self) -> None:
        self._granted.set_result(None)


class Lanes:
    """One lane per conversation with turns running or waiting; none for the others."""

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane] = {}

    def join(self, conversation_id: str) -> tuple[Place, int]:
        """Take a place in the conversation's lane.

        Returns:
            The place, and how many turns are ahead of it (0: its place is up already).
        """
        lane = self._lanes.setdefault(conversation_id, _Lane())
        place = Place(self, conversation_id)
        ahead = len(lane.waiting) + (lane.holder is not None)
        if lane.holder is None:
            lane.holder = place
            place._grant()
        else:
            lane.waiting.append(place)
        return place, ahead

    def busy(self, conversation_id: str) -> bool:
        """Whether a turn of the conversation is running or waiting."""
        return conversation_id in self._lanes

    def waiting(self, conversation_id: str) -> int:
        """How many turns of the conversation wait behind its current one."""
        lane = self._lanes.get(conversation_id)
        return len(lane.waiting) if lane else 0

    def _leave(self, conversation_id: str, place: Place) -> None:
        lane = self._lanes[conversation_id]
        if lane.holder is place:
            lane.holder = lane.waiting.popleft() if lane.waiting else None
            if lane.holder is not None:
                lane.holder._grant()
        else:
            lane.waiting.remove(place)
        if lane.holder is None and not lane.waiting:
            del self._lanes[conversation_id]
