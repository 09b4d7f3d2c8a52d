"""The terminal's input as asyncio callbacks: whole lines, the end of input, and Ctrl-C.

Standard input may also be a pipe, a file or /dev/null (`threadline chat < script`). The
event loop cannot watch the last two (epoll refuses them), but reading them never waits for
anyone: they are read in a worker thread instead, a block at a time.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
from collections.abc import Callable

__all__ = ("Keyboard",)

_READ_SIZE = 65536


class Keyboard:
    """Feeds typed lines into a queue (None at the end of input) and reports Ctrl-C.

    The terminal stays in its usual line mode, so the user edits a line as in any shell
    prompt; the event loop is told when a whole line is there, and nothing blocks it. The
    file descriptor is never switched to non-blocking, which would leak into the shell that
    started us.
    """

    def __init__(self, lines: asyncio.Queue[str | None], on_interrupt: Callable[[], None]) -> None:
        self._lines = lines
        self._on_interrupt = on_interrupt
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._fd = 0
        self._reading: asyncio.Task[None] | None = None  # a file's reader, if not watched

    def start(self, fd: int = 0) -> None:
        """Begin watching `fd` (standard input) and SIGINT."""
        self._fd = fd
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(fd, self._readable)
        except PermissionError:  # a regular file or /dev/null: always readable
            self._reading = loop.create_task(self._read_file())
        loop.add_signal_handler(signal.SIGINT, self._on_interrupt)

    def stop(self) -> None:
        """Stop watching; Ctrl-C interrupts as usual again."""
        loop = asyncio.get_running_loop()
        if self._reading is not None:
            self._reading.cancel()
        else:
            loop.remove_reader(self._fd)
        loop.remove_signal_handler(signal.SIGINT)

    def _readable(self) -> None:
        if not self._received(os.read(self._fd, _READ_SIZE)):
            asyncio.get_running_loop().remove_reader(self._fd)

    async def _read_file(self) -> None:
        while self._received(await asyncio.to_thread(os.read, self._fd, _READ_SIZE)):
            pass

    def _received(self, data: bytes) -> bool:
        """Queue the whole lines in `data`; False at the end of input."""
        if not data:
            if self._pending:
                self._lines.put_nowait(self._pending)
            self._lines.put_nowait(None)
            return False
        self._pending += self._decoder.decode(data)
        *complete, self._pending = self._pending.split("\n")
        for line in complete:
            self._lines.put_nowait(line)
        return True
