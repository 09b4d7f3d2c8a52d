"""Fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL), a database per test, the
fake Groq server, and Threadline served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.rows import dict_row

from tests.fake_groq import FakeGroq
from tests.serving import serve_app
from threadline.knowledge.stores import vector_store
from threadline.llm.embeddings import LocalEmbedder
from threadline.settings import Secret, Settings
from threadline.storage.database import start_embedded_postgres
from threadline.storage.schema import migrate

# One template per xdist worker: workers may share a server (TEST_DATABASE_URL).
_EMBEDDED = pytest.StashKey[Any]()
# The run's own folder: the embedded PostgreSQL's data, the lock, the tests' tmp_path.
_OWN_FOLDER = pytest.StashKey[Path]()
TEMPLATE = f"threadline_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


# Started once by the controlling process and shared by every xdist worker (each worker
# clones its own template in it), instead of one initdb and server per worker.
_SHARED_URL = "TEST_DATABASE_URL"
# Tests that start several server processes, and tests whose timing they would upset, take
# this lock (shared by every xdist worker): one of them runs at a time.
_HEAVY_LOCK = "THREADLINE_TEST_HEAVY_LOCK"
# The longest tests start first, so they run side by side on different workers instead of
# ending the run one after another (xdist hands out the first tests round-robin).
_SLOW_FIRST = (
    "integration/test_context_bounds.py",
    "e2e/test_bench_smoke.py",
    "e2e/test_cli.py",
    "e2e/test_package.py",
    "e2e/test_schema_fuzz.py",
    "e2e/test_context.py",
    "integration/test_langgraph_contract.py",
    "e2e/test_faults.py",
    "e2e/test_replicas.py",
)


@pytest.hookimpl(tryfirst=True)  # before pytest's temporary folders read --basetemp
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist gives each worker its folders inside the controlling process's
    data = Path(tempfile.mkdtemp(prefix="threadline-tests-"))
    config.stash[_OWN_FOLDER] = data
    if config.option.basetemp is None:
        # Not pytest's /tmp/pytest-of-USER, shared by every run, which each run tightens to
        # 0700 as it starts: run as root, a test's own embedded PostgreSQL (in its
        # tmp_path) runs as another user, which must keep passing through.
        config.option.basetemp = str(data / "tmp")
    if os.environ.get(_SHARED_URL):
        return
    os.environ[_HEAVY_LOCK] = str(data / "heavy.lock")
    server = start_embedded_postgres(data / "pgdata")
    config.stash[_EMBEDDED] = server
    os.environ[_SHARED_URL] = server.get_uri()


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_EMBEDDED, None)
    if server is not None:
        server.cleanup()
        os.environ.pop(_SHARED_URL, None)
    data = config.stash.get(_OWN_FOLDER, None)
    if data is not None:
        shutil.rmtree(data, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def slowness(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((i for i, slow in enumerate(_SLOW_FIRST) if path.endswith(slow)), 99)

    slow = sorted((item for item in items if slowness(item) < 99), key=slowness)
    rest = [item for item in items if slowness(item) == 99]
    # xdist hands each worker two tests at first: pair every slow test with a quick one.
    paired = [test for pair in zip(slow, rest, strict=False) for test in pair]
    items[:] = paired + slow[len(paired) // 2 :] + rest[len(paired) // 2 :]


@pytest.fixture
def one_at_a_time() -> Iterator[None]:
    """Run while no other test using this fixture runs, on any worker.

    For tests that start three server processes (two cores would be crowded by several at
    once) and for the timing-sensitive ones those would upset.
    """
    path = os.environ.get(_HEAVY_LOCK)
    if path is None:  # a server of one's own (TEST_DATABASE_URL): no workers to order
        yield
        return
    with Path(path).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks this worker only
        yield


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server of the whole run: TEST_DATABASE_URL, or the embedded one."""
    return os.environ[_SHARED_URL]


async def _migrate(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row
    ) as conn:
        vectors = vector_store(conn, LocalEmbedder())
        await migrate(url, AsyncPostgresSaver(conn), AsyncPostgresStore(conn), vectors=vectors)


@pytest.fixture(scope="session")
def template_url(postgres_url: str) -> str:
    """A database with the schema migrated once; each test's database is cloned from it."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    url = with_database(postgres_url, TEMPLATE)
    asyncio.run(_migrate(url))
    return url


@contextmanager
def fresh_database(postgres_url: str, template: str | None = TEMPLATE) -> Iterator[str]:
    """A new database cloned from the migrated template (None: empty), dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    cloned = f" TEMPLATE {template}" if template else ""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}{cloned}")
    try:
        yield with_database(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database_url(postgres_url: str, template_url: str) -> Iterator[str]:
    """A fresh database for one test: tests never share state."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
async def fake_groq() -> AsyncIterator[FakeGroq]:
    """The fake Groq API, served on 127.0.0.1."""
    fake = FakeGroq()
    async with serve_app(fake.app()) as address:
        fake.url = f"http://{address}"
        yield fake


@pytest.fixture
def settings(database_url: str, fake_groq: FakeGroq) -> Settings:
    """Settings pointing at this test's database and the fake Groq, without client retries."""
    return Settings(
        host="127.0.0.1",
        database_url=Secret(database_url),
        groq_api_key=Secret("gsk_test_key_not_real"),
        groq_api_base=fake_groq.url,
        groq_max_retries=0,
        db_pool_min_size=1,
        db_pool_max_size=4,
    )
