"""What `/export` asks for, as typed."""

from __future__ import annotations

import pytest

from threadline.terminal.exporting import Export, parse_export


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("", Export("json", None)),
        ("markdown", Export("markdown", None)),
        ("MD -", Export("markdown", None)),
        ("json out.json", Export("json", "out.json")),
        ("markdown ~/my notes.md", Export("markdown", "~/my notes.md")),
        ("notes.txt", Export("json", "notes.txt")),
    ],
)
def test_a_format_is_named_first_and_a_path_after_it(typed: str, asked: Export) -> None:
    assert parse_export(typed) == asked
