"""`threadline chat` in a pseudo-terminal, driven as a person at a keyboard would."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread
import pexpect

from tests.processes import THREADLINE

_WAIT = 30.0


class Terminal:
    """A running `threadline chat`: type into it, and wait for what it shows."""

    def __init__(self, child: pexpect.spawn[str]) -> None:
        self._child = child
        self.shown = ""  # everything shown so far (typed lines echo, as in a terminal)

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        self._child.sendline(line)

    def interrupt(self) -> None:
        """Press Ctrl-C."""
        self._child.sendintr()

    def end_input(self) -> None:
        """Press Ctrl-D at the start of a line."""
        self._child.sendeof()

    async def wait_for(self, text: str) -> str:
        """Wait until `text` is shown; returns what was shown before it, since the last wait."""
        # pexpect reads by blocking: in a worker thread, so the test's server keeps serving.
        expect = partial(self._child.expect_exact, text, timeout=_WAIT)
        await anyio.to_thread.run_sync(expect)
        before = str(self._child.before)
        self.shown += before + text
        return before.replace("\r\n", "\n")

    async def wait_for_match(self, pattern: str) -> re.Match[str]:
        """Wait until a regular expression matches what is shown; returns the match."""
        await anyio.to_thread.run_sync(partial(self._child.expect, pattern, timeout=_WAIT))
        match = self._child.match
        assert isinstance(match, re.Match)
        self.shown += str(self._child.before) + match.group(0)
        return match

    async def exit_status(self) -> int | None:
        """Wait for the program to end; returns its exit status."""
        await anyio.to_thread.run_sync(partial(self._child.expect, pexpect.EOF, timeout=_WAIT))
        self.shown += str(self._child.before)
        self._child.close()
        return self._child.exitstatus


@asynccontextmanager
async def terminal(*args: str, env: Mapping[str, str] | None = None) -> AsyncIterator[Terminal]:
    """`threadline chat ARGS` in a pseudo-terminal, killed if still running at the end."""
    child = pexpect.spawn(
        THREADLINE,
        ["chat", *args],
        env=dict(env) if env is not None else None,
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(40, 200),
    )
    child.logfile_read = sys.stderr  # shown by pytest when a test fails
    try:
        yield Terminal(child)
    finally:
        if child.isalive():
            child.terminate(force=True)
