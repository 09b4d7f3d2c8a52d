"""The server's document readers: a few processes, each reading one upload at a time.

Text out of a PDF, and cutting text into passages, is pure-Python CPU work that a crafted
file can make last for minutes; in a thread it would hold the interpreter's lock and slow
every chat on the server. In a reader process (`knowledge/reader.py`) it takes nothing
from the event loop, its memory is bounded by the kernel, and at its deadline the process
is killed and replaced: the document ends `failed` with the reason.

Readers start when first needed and are reused; one that stopped (killed, retired after
a large document, crashed) is replaced by a new one for the next document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

import msgspec

from threadline.knowledge.extract import Bounds, UnreadableDocument
from threadline.knowledge.reader import HEADER, Job, Reply

__all__ = ("Readers", "ReadingLimits")

logger = logging.getLogger(__name__)

# What a reader inherits of the environment: enough to run Python, no secret.
_KEPT = ("PATH", "PYTHONPATH", "PYTHONHOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
_ENCODER = msgspec.msgpack.Encoder()
_REPLIES = msgspec.msgpack.Decoder(Reply)


class ReadingLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What reading uploads may take on one server."""

    processes: int = 2
    timeout: float = 60.0  # seconds per document
    memory_mb: int = 1024  # per reader process
    bounds: Bounds = msgspec.field(default_factory=Bounds)


class Readers:
    """Up to `limits.processes` reader processes, each reading one document at a time."""

    def __init__(self, limits: ReadingLimits) -> None:
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.processes)
        self._idle: list[_Reader] = []
        self._busy: set[_Reader] = set()

    async def passages(self, content: bytes, media_type: str) -> list[str]:
        """The document's text cut into passages, in a reader process within the limits.

        Raises:
            UnreadableDocument: Not readable, past a bound, or not read in time.
        """
        async with self._slots:
            reader = self._idle.pop() if self._idle else await _Reader.start(self.limits)
            reply = await self._ask(reader, Job(content, media_type, self.limits.bounds))
        if reply.passages is None:
            raise UnreadableDocument(reply.reason or "the document cannot be read")
        return reply.passages

    async def _ask(self, reader: _Reader, job: Job) -> Reply:
        self._busy.add(reader)
        reply: Reply | None = None
        try:
            reply = await asyncio.wait_for(reader.ask(job), self.limits.timeout)
        except TimeoutError:
            reason = f"reading the document took longer than {self.limits.timeout:g} seconds"
        except (asyncio.IncompleteReadError, ConnectionError):
            reason = "the document's reader stopped while reading it"
        finally:
            self._busy.discard(reader)
            if reply is None or reply.retire:
                await reader.stop()
            else:
                self._idle.append(reader)
        if reply is None:
            logger.info("documents.reader_stopped", extra={"reason": reason})
            return Reply(reason=reason)
        return reply

    async def close(self) -> None:
        """Stop every reader (a document being read stays `indexing`, to be read again)."""
        readers = [*self._idle, *self._busy]
        self._idle.clear()
        for reader in readers:
            await reader.stop()


class _Reader:
    """One reader process and its pipes."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        pipes: tuple[asyncio.StreamWriter, asyncio.StreamReader],
    ) -> None:
        self._process = process
        self._stdin, self._stdout = pipes

    @classmethod
    async def start(cls, limits: ReadingLimits) -> _Reader:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "threadline.knowledge.reader",
            str(limits.memory_mb),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={name: os.environ[name] for name in _KEPT if name in os.environ},
        )
        if process.stdin is None or process.stdout is None:  # never: both are piped
            msg = "a reader started without its pipes"
            raise RuntimeError(msg)
        return cls(process, (process.stdin, process.stdout))

    async def ask(self, job: Job) -> Reply:
        body = _ENCODER.encode(job)
        self._stdin.write(HEADER.pack(len(body)) + body)
        await self._stdin.drain()
        (size,) = HEADER.unpack(await self._stdout.readexactly(HEADER.size))
        return _REPLIES.decode(await self._stdout.readexactly(size))

    async def stop(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        await self._process.wait()
