"""The built-in tools: exact arithmetic without eval, and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from threadline.engine.tools.builtin import builtin_tools
from threadline.engine.tools.calculator import evaluate
from threadline.engine.tools.clock import current_time
from threadline.settings import SettingsError


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3", 5),
        ("12.5 * (3 + 4) / 2", 43.75),
        ("2 ** 10", 1024),
        ("2^10", 1024),
        ("-7 // 2", -4),
        ("17 % 5", 2),
        ("6 \u00d7 7", 42),  # the multiplication sign
        ("1 ÷ 4", 0.25),
    ],
)
def test_arithmetic_is_exact(expression: str, value: float) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("__import__('os').system('id')", "only numbers"),
        ("(1).__class__", "only numbers"),
        ("x + 1", "only numbers"),
        ("True + 1", "only numbers"),
        ("1 / 0", "division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("2 +", "not an arithmetic expression"),
        ("1" * 300, "1-200 characters"),
    ],
)
def test_anything_but_arithmetic_is_refused(expression: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        evaluate(expression)


def test_the_clock_answers_in_the_zone_asked() -> None:
    noon = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert current_time("Europe/Paris", now=noon) == (
        "2026-11-28 13:00 CET (UTC+01:00), Saturday, in Europe/Paris"
    )
    assert current_time("UTC", now=noon).startswith("2026-11-28 12:00 UTC")
    with pytest.raises(ValueError, match="unknown time zone"):
        current_time("Mars/Olympus_Mons")


def test_tools_are_chosen_by_name() -> None:
    assert [tool.name for tool in builtin_tools(" clock, calculator ")] == ["clock", "calculator"]
    assert builtin_tools("") == ()
    with pytest.raises(SettingsError, match="TOOLS: unknown tool 'shell'"):
        builtin_tools("calculator,shell")
