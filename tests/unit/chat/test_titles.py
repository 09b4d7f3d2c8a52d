"""What a title keeps of the text it is made from: what can be seen, on one line."""

from __future__ import annotations

import pytest

from threadline.conversations.titles import fallback_title, visible_title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("\u202eevil.exe\u202c", "evil.exe"),  # right-to-left override, pop
        ("a\u200bb\ufeffc\u2060d", "abcd"),  # zero-width space, byte order mark, word joiner
        ("\u2066left\u2069 \u200fright\u200e", "left right"),  # isolates, direction marks
        ("  two\u00a0words\tand\u2028a line \n", "two words and a line"),
        ("soft\u00adhyphen\x85", "softhyphen"),  # a format and a C1 control character
        ("👩\u200d💻 \u0645\u200c\u06cc 🇵🇹 ❤\ufe0f", "👩\u200d💻 \u0645\u200c\u06cc 🇵🇹 ❤\ufe0f"),
        ("\u202e\u200b", ""),
    ],
)
def test_a_title_keeps_what_can_be_seen_and_the_joiners_that_shape_it(
    text: str, title: str
) -> None:
    assert visible_title(text) == title


def test_the_fallback_title_is_the_first_line_with_anything_to_see() -> None:
    assert fallback_title("\u202e\u200b\n  \u2066Trip\u2069 to Lisbon\nin May") == "Trip to Lisbon"
