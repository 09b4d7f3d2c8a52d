"""Reader processes: a document past its deadline or its memory fails with a reason, and
the next document is read by a fresh reader; none is left running once they are closed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.documents import pdf_bomb, pdf_drawing_bomb, pdf_with
from threadline.knowledge.extract import Bounds, UnreadableDocument
from threadline.knowledge.readers import Readers, ReadingLimits

pytestmark = pytest.mark.anyio

UNBOUNDED = Bounds(max_decompressed=1 << 30)


def _readers_running() -> list[int]:
    """This process's children that are readers."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"threadline.knowledge.reader" in command:
            found.append(int(entry.name))
    return found


@asynccontextmanager
async def _readers(limits: ReadingLimits) -> AsyncIterator[Readers]:
    readers = Readers(limits)
    try:
        yield readers
    finally:
        await readers.close()
    assert _readers_running() == []


async def test_a_document_past_its_deadline_fails_and_the_next_one_is_read() -> None:
    async with _readers(ReadingLimits(processes=1, timeout=1, bounds=UNBOUNDED)) as readers:
        with pytest.raises(
            UnreadableDocument, match=r"^reading the document took longer than 1 seconds$"
        ):
            await readers.passages(pdf_drawing_bomb(3, pages=16), "application/pdf")
        passages = await readers.passages(pdf_with("Still reading."), "application/pdf")
    assert passages == ["Still reading."]


async def test_a_document_past_the_readers_memory_fails_and_the_next_one_is_read() -> None:
    # One stream inflating to 300 MB, in a reader allowed 256 MiB of address space.
    limits = ReadingLimits(processes=1, memory_mb=256, bounds=UNBOUNDED)
    async with _readers(limits) as readers:
        with pytest.raises(UnreadableDocument, match=r"^reading the document needs more memory"):
            await readers.passages(pdf_bomb(300, pages=1), "application/pdf")
        passages = await readers.passages(pdf_with("Still reading."), "application/pdf")
    assert passages == ["Still reading."]


async def test_readers_are_reused_and_all_stopped_when_closed() -> None:
    async with _readers(ReadingLimits(processes=2)) as readers:
        for number in range(3):
            note = f"Note {number}."
            assert await readers.passages(note.encode(), "text/plain") == [note]
        assert len(_readers_running()) == 1  # one after another: the same reader
