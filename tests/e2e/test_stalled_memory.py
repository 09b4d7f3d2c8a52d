"""Sockets that never read cost a server process a bounded amount of memory, given back.

A server process of its own, so that its resident memory is the server's alone: sockets
that stop reading ask for history pages of a long conversation, far more bytes than the
bounds allow; each is dropped with 1008 once the bytes waiting for it (or for all the
process's sockets) pass the bound, however patient the send timeout.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.processes import Server, servers
from tests.stalled import StalledClient, stalled_client
from tests.wsclient import connect

# One server process measured while it runs: nothing else heavy beside it.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("one_at_a_time")]

MB = 1024 * 1024
SOCKETS = 4
PAGES = 100  # history pages each socket asks for without reading one
# ~63 KB in few long words (the fake model streams a token a word): MAX_MESSAGE_BYTES is raised.
WORDS = " ".join(f"{n:02}" + "w" * 1_000 for n in range(63))
TURNS = 5  # ~650 KB of stored messages (each answered in as many bytes): one page


async def _long_conversation(address: str) -> tuple[str, int]:
    """A conversation of ~650 KB, and the size of one page of its history on the wire."""
    async with connect(address, "alice") as chat:
        conversation_id = (await chat.turn(f"0 {WORDS}")).ack["conversation_id"]
        for turn in range(1, TURNS):
            await chat.turn(f"{turn} {WORDS}", conversation_id)
        await chat.send(type="history", conversation_id=conversation_id, limit=500)
        page = await chat.ws.receive_text()
        while msgspec.json.decode(page)["type"] != "history":  # a sidebar event came first
            page = await chat.ws.receive_text()
    return conversation_id, len(page.encode())


def _rss(server: Server) -> int:
    """The server process's resident memory, in bytes."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def _drops(server: Server) -> list[str]:
    """Why the server dropped sockets, as its log says."""
    lines = server.log.read_text().splitlines()
    return [msgspec.json.decode(line)["reason"] for line in lines if '"socket.dropped"' in line]


async def _peak_until_dropped(server: Server, baseline: int, allowed: int) -> int:
    """The server's peak memory until it dropped every stalled socket."""
    peak = baseline
    with anyio.fail_after(60):
        while len(_drops(server)) < SOCKETS:
            peak = max(peak, _rss(server))
            if peak - baseline > allowed:
                grown = (peak - baseline) // MB
                pytest.fail(f"the server grew by {grown} MB for sockets that do not read")
            await anyio.sleep(0.05)
    return max(peak, _rss(server))


@pytest.mark.parametrize(
    "bound",
    [{"SOCKET_SEND_BYTES": str(2 * MB)}, {"PROCESS_SEND_BYTES": str(4 * MB)}],
    ids=["per_socket", "per_process"],
)
async def test_sockets_that_never_read_are_dropped_and_their_memory_given_back(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq, bound: dict[str, str]
) -> None:
    patient = {  # the bytes bound acts, not the send timeout
        "SOCKET_SEND_TIMEOUT": "120",
        "MAX_MESSAGE_BYTES": str(64 * 1024),
        **bound,
    }
    async with servers(tmp_path, database_url, fake_groq.url, 1, **patient) as (server,):
        conversation_id, page = await _long_conversation(server.address)
        baseline = _rss(server)
        asked = SOCKETS * PAGES * page
        async with AsyncExitStack() as stack:
            tabs: list[StalledClient] = []
            for _ in range(SOCKETS):
                tabs.append(
                    await stack.enter_async_context(stalled_client(server.address, "alice"))
                )
            for tab in tabs:
                for _ in range(PAGES):
                    await tab.send(type="history", conversation_id=conversation_id, limit=500)
            peak = await _peak_until_dropped(server, baseline, allowed=asked // 4)
            drained = await asyncio.gather(*(tab.drain() for tab in tabs))
        await anyio.sleep(1)  # the server notices the sockets closed
        after = _rss(server)
        reasons = _drops(server)

    assert [code for _, code in drained] == [1008] * SOCKETS
    # Each got some pages before it was dropped, far from all it asked for.
    assert all(0 < len(frames) < PAGES for frames, _ in drained)
    assert len(set(reasons)) == 1
    assert peak - baseline < asked // 4
    assert after - baseline < asked // 8
