"""Work of many owners, handed out in turn, so that no owner's backlog delays another's.

Each owner's items wait in their own line; owners take turns, one item each; and an owner
has at most one item out at a time. A user who uploads a hundred documents, or one that
takes a reader to its deadline, holds at most one of the server's readers, and another
user's document is next but one at worst.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ("Rotation",)

Item = TypeVar("Item")
Owner = str | None  # None: the shared documents, an owner like any other


class Rotation(Generic[Item]):
    """Items in per-owner lines, taken round-robin across owners."""

    def __init__(self) -> None:
        self._lines: dict[Owner, deque[Item]] = {}
        # Owners with an item waiting and none out, in the order their turn comes.
        self._turns: asyncio.Queue[Owner] = asyncio.Queue()
        self._out: set[Owner] = set()
        self._known: set[Item] = set()

    def put(self, owner: Owner, item: Item) -> bool:
        """Add `item` to its owner's line; False if it is already waiting or out."""
        if item in self._known:
            return False
        self._known.add(item)
        line = self._lines.setdefault(owner, deque())
        line.append(item)
        if len(line) == 1 and owner not in self._out:
            self._turns.put_nowait(owner)
        return True

    async def take(self) -> tuple[Owner, Item]:
        """The next owner's first item, once there is one; call `done` when through."""
        owner = await self._turns.get()
        self._out.add(owner)
        return owner, self._lines[owner].popleft()

    def done(self, owner: Owner, item: Item) -> None:
        """`item`, taken, is through: its owner's next item waits for its turn."""
        self._known.discard(item)
        self._out.discard(owner)
        if self._lines.get(owner):
            self._turns.put_nowait(owner)
        else:
            self._lines.pop(owner, None)

    def __len__(self) -> int:
        """Items waiting or out."""
        return len(self._known)
