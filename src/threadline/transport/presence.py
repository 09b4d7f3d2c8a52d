"""Which users have a socket open on this server process."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ("Presence",)


class Presence:
    """Counts open sockets per user; a user with none is simply absent."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    @contextmanager
    def track(self, user_id: str) -> Iterator[None]:
        """Count one socket of `user_id` as open for the duration of the block."""
        self._open[user_id] += 1
        try:
            yield
        finally:
            self._open[user_id] -= 1
            if self._open[user_id] <= 0:
                del self._open[user_id]

    def connections(self, user_id: str) -> int:
        """How many sockets `user_id` has open right now."""
        return self._open.get(user_id, 0)
