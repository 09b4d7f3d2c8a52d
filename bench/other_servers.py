"""Processes the side-by-side benches start: Aegra's database, the system's PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.processes import free_port as _free_port


def aegra_database(database_url: str) -> str:
    """A database of Aegra's own beside Threadline's, on the same server."""
    subprocess.run(  # noqa: S603
        ["psql", database_url, "-qc", "CREATE DATABASE aegra"],  # noqa: S607
        check=False,
        capture_output=True,
    )
    return urlunsplit(urlsplit(database_url)._replace(path="/aegra"))


@contextmanager
def system_postgres() -> Iterator[str]:
    """A throwaway cluster of the system's PostgreSQL (with its contrib extensions), on TCP.

    Aegra creates the `uuid-ossp` extension, which the embedded PostgreSQL does not ship.
    Run as the `postgres` user when this process is root, as PostgreSQL requires.
    """
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not binaries:
        raise RuntimeError("no system PostgreSQL under /usr/lib/postgresql")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="bench-aegra-pg-"))
    if as_user:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    run = partial(subprocess.run, check=True, capture_output=True)
    run([*as_user, str(binaries[-1] / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
    pg_ctl = [*as_user, str(binaries[-1] / "pg_ctl"), "-D", str(data), "-w"]
    run([*pg_ctl, "-o", options, "-l", str(folder / "log"), "start"])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run([*pg_ctl, "-m", "fast", "stop"])
        shutil.rmtree(folder, ignore_errors=True)
