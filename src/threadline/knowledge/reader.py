"""A reader: a process of its own that turns uploads into passages.

`python -m threadline.knowledge.reader <memory MiB> <server pid>`. The server keeps a few
(`knowledge/readers.py`) and sends each one document at a time on its stdin; its text cut
into passages, or why there are none, comes back on its stdout. Each frame is a 4-byte length and a
MessagePack body. Here reading may take all the CPU it needs without slowing the server's
event loop, and a reader past its deadline is simply killed.

It bounds itself: its address space (RLIMIT_AS), and its life to the server's (the kernel
kills it when the server dies). A reader that grew large answers, then exits, so that
the memory one document took is given back.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import signal
import struct
import sys
import warnings
from pathlib import Path
from typing import BinaryIO

import msgspec

from threadline.knowledge.chunking import MAX_CHUNKS, chunk_text
from threadline.knowledge.extract import Bounds, UnreadableDocument, extract_text

__all__ = ("HEADER", "Job", "Reply", "main")

HEADER = struct.Struct(">I")  # the length of the MessagePack body that follows
# A reader holding more memory than this after a document retires once it has replied.
RETIRE_ABOVE_MB = 256
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_MEMORY = "reading the document needs more memory than this server allows"


class Job(msgspec.Struct, frozen=True):
    """One document to read."""

    content: bytes
    media_type: str
    bounds: Bounds


class Reply(msgspec.Struct, frozen=True, omit_defaults=True):
    """Its passages, or the reason it has none; `retire`: the reader exits after this."""

    passages: list[str] | None = None
    reason: str | None = None
    retire: bool = False


def main(argv: list[str] | None = None) -> None:
    """Read the documents that arrive on stdin until it closes (or this one retires)."""
    memory_mb, server = (int(arg) for arg in (argv or sys.argv[1:]))
    _confine(memory_mb, server)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes where errors go, never into a reply
    jobs, encoder = msgspec.msgpack.Decoder(Job), msgspec.msgpack.Encoder()
    while (body := _read_frame(sys.stdin.buffer)) is not None:
        reply = _read(jobs.decode(body))
        replies.write(HEADER.pack(len(encoded := encoder.encode(reply))) + encoded)
        replies.flush()
        if reply.retire:
            return


def _read(job: Job) -> Reply:
    try:
        reply = Reply(passages=_passages(job))
    except UnreadableDocument as error:
        reply = Reply(reason=str(error))
    except MemoryError:
        return Reply(reason=_MEMORY, retire=True)
    except Exception as error:  # noqa: BLE001 - a file that breaks a parser is unreadable
        reply = Reply(reason=f"the document cannot be read ({type(error).__name__})")
    return msgspec.structs.replace(reply, retire=_resident_mb() > RETIRE_ABOVE_MB)


def _passages(job: Job) -> list[str]:
    passages = chunk_text(extract_text(job.content, job.media_type, job.bounds))
    if len(passages) > MAX_CHUNKS:
        msg = f"the document is too long ({len(passages)} passages, at most {MAX_CHUNKS})"
        raise UnreadableDocument(msg)
    return passages


def _resident_mb() -> int:
    """The memory this process holds now, in MiB; 0 where /proc does not say.

    Not its peak (`ru_maxrss`): on Linux that includes the server's, from before the exec.
    """
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None  # the server closed our stdin, or is gone
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def _confine(memory_mb: int, server: int) -> None:
    """Bound this process's memory and life; keep its logs and Ctrl-C to the server."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Ctrl-C in a terminal reaches the whole group; the server stops its readers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server:  # it died before the line above
            os._exit(1)
    # A malformed file makes pypdf warn at length; the server logs the outcome instead.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):  # the server went away mid-reply
        main()
