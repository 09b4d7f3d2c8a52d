"""Which Host headers name loopback, and which browser origins may write."""

from __future__ import annotations

import pytest

from threadline.transport.origins import is_loopback_host, origin_allowed


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST:8000", True),
        ("app.localhost:3000", True),
        ("127.0.0.1", True),
        ("127.1.2.3:8000", True),
        ("[::1]:8000", True),
        ("[::1]", True),
        ("localhost.", False),  # resolved by DNS, like any name
        ("localhost.evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("evil.example:8000", False),
        ("10.0.0.5", False),
        ("[::2]:80", False),
        ("", False),
    ],
)
def test_only_names_of_this_machine_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"host": "127.0.0.1:8000"}, True),  # a program: neither Origin nor Sec-Fetch-*
        ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}, True),
        ({"host": "127.0.0.1:8000", "origin": "https://chat.example.com/"}, True),
        ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:9000"}, False),
        ({"host": "127.0.0.1:8000", "origin": "null"}, False),
        ({"host": "127.0.0.1:8000", "sec-fetch-site": "same-origin"}, False),
    ],
)
def test_a_browser_must_say_where_it_comes_from(headers: dict[str, str], allowed: bool) -> None:
    assert origin_allowed(headers, frozenset({"https://chat.example.com"})) is allowed
    assert origin_allowed(headers, frozenset({"*"}))
