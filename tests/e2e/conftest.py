"""The e2e tests run on a real PostgreSQL: a database per test, and the fake Groq."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from tests.fixtures import database_url, fake_groq, postgres_url, settings, template_url

if TYPE_CHECKING:
    from playwright.async_api import Browser

__all__ = ("chromium", "database_url", "fake_groq", "postgres_url", "settings", "template_url")


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """One Chromium for the tests of a module; each test opens its own contexts in it.

    Module-scoped, so the module's tests share one event loop (anyio_backend is
    session-scoped). Playwright is imported only by a worker that runs a browser test.
    """
    from tests.browser import launched_chromium  # noqa: PLC0415 - only for a browser test

    async with launched_chromium() as browser:
        yield browser
