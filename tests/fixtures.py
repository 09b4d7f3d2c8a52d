"""The fixtures of the layers that run on PostgreSQL (tests/integration, tests/e2e).

A database per test cloned from a migrated template, the fake Groq server, and settings
pointing at both. Each layer's conftest.py imports them; tests/unit does not, so a unit
run needs no database and does not import the app.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.rows import dict_row

from tests.fake_groq import FakeGroq
from tests.postgres import SHARED_URL
from tests.serving import serve_app
from threadline.knowledge.stores import vector_store
from threadline.llm.embeddings import LocalEmbedder
from threadline.settings import Secret, Settings
from threadline.storage.schema import migrate

__all__ = (
    "TEMPLATE",
    "database_url",
    "fake_groq",
    "fresh_database",
    "postgres_url",
    "served_fake_groq",
    "settings",
    "settings_for",
    "template_url",
    "with_database",
)

# One template per xdist worker: workers may share a server (TEST_DATABASE_URL).
TEMPLATE = f"threadline_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server of the whole run: TEST_DATABASE_URL, or the embedded one."""
    return os.environ[SHARED_URL]


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
    # FILE_COPY: the template's files copied whole, twice as fast here as the default
    # (WAL_LOG, which writes every block of it through the WAL); its checkpoints cost
    # little on the run's server, which flushes nothing to disk (tests/postgres.py).
    cloned = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
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


@asynccontextmanager
async def served_fake_groq() -> AsyncIterator[FakeGroq]:
    """The fake Groq API, served on 127.0.0.1 for the block."""
    fake = FakeGroq()
    async with serve_app(fake.app()) as address:
        fake.url = f"http://{address}"
        yield fake


@pytest.fixture
async def fake_groq() -> AsyncIterator[FakeGroq]:
    """The fake Groq API, served on 127.0.0.1."""
    async with served_fake_groq() as fake:
        yield fake


def settings_for(database_url: str, fake_groq: FakeGroq) -> Settings:
    """Settings pointing at `database_url` and the fake Groq, without client retries."""
    return Settings(
        host="127.0.0.1",
        database_url=Secret(database_url),
        groq_api_key=Secret("gsk_test_key_not_real"),
        groq_api_base=fake_groq.url,
        groq_max_retries=0,
        db_pool_min_size=1,
        db_pool_max_size=4,
    )


@pytest.fixture
def settings(database_url: str, fake_groq: FakeGroq) -> Settings:
    """Settings pointing at this test's database and the fake Groq, without client retries."""
    return settings_for(database_url, fake_groq)
