"""The lock that lets one heavy test run at a time across every xdist worker."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The lock file's path, set by the controlling process (tests/conftest.py) for its workers.
HEAVY_LOCK = "THREADLINE_TEST_HEAVY_LOCK"


@contextmanager
def heavy_lock() -> Iterator[None]:
    """Hold the lock for the block: no other block holding it runs, on any worker.

    Without a lock file (a server of one's own, TEST_DATABASE_URL: no workers to order),
    the block runs at once.
    """
    path = os.environ.get(HEAVY_LOCK)
    if path is None:
        yield
        return
    with Path(path).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks this worker only
        yield
