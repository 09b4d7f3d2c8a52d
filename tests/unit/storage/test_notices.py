"""Notices larger than one NOTIFY are cut into pieces that join back to the same bytes."""

from __future__ import annotations

import pytest

from threadline.storage.notices import chunks


@pytest.mark.parametrize("text", ["", "a" * 10, "a" * 7_600, "é" * 5_000, "x" + "😀" * 3_000])
def test_pieces_fit_a_notify_and_join_back_whole(text: str) -> None:
    data = text.encode()

    pieces = chunks(data)

    assert "".join(pieces).encode() == data
    assert all(0 < len(piece.encode()) <= 7_600 for piece in pieces)
