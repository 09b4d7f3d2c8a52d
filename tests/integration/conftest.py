"""The integration tests run on a real PostgreSQL: a database per test, and the fake Groq."""

from tests.fixtures import database_url, fake_groq, postgres_url, settings, template_url

__all__ = ("database_url", "fake_groq", "postgres_url", "settings", "template_url")
