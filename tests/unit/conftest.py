"""Unit tests: pure logic, no database, no server; they share only tests/conftest.py."""
