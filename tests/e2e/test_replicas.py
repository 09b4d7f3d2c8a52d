"""Three server processes on one database act as one: a turn's frames reach sockets on any
of them, a reply resumes anywhere, a stop reaches it wherever it runs, sidebars stay
current, presence is counted across them, and a killed or drained one loses nothing."""

from __future__ import annotations

import contextlib
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import httpx
import psycopg
import pytest
from httpx_ws import WebSocketDisconnect

from tests.credentials import handshake
from tests.fake_groq import FakeGroq, Fault
from tests.fixtures import fresh_database
from tests.heavy import heavy_lock
from tests.polling import eventually
from tests.processes import Server, servers
from tests.serving import serve_app, serve_threadline
from tests.wsclient import ChatClient, Frame, connect, connections
from threadline.settings import Settings

# Three server processes a test: one such test at a time, so that they do not starve
# each other, nor timing-sensitive tests, of the two cores.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("one_at_a_time")]

LONG = " ".join(f"word{i}" for i in range(40))

# The tests that kill, stop or cut no process share three (started at about 2 s of CPU
# each), on one database of their own. One xdist worker runs the whole module
# (tests/conftest.py's WHOLE_MODULES), so they are started once.


class Shared(NamedTuple):
    """The shared processes, and this test's fake Groq (reset) and users of its own."""

    servers: list[Server]
    fake_groq: FakeGroq
    alice: str
    bob: str


@pytest.fixture(scope="module")
async def shared_groq() -> AsyncIterator[FakeGroq]:
    fake = FakeGroq()
    async with serve_app(fake.app()) as address:
        fake.url = f"http://{address}"
        yield fake


@pytest.fixture(scope="module")
async def shared_servers(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,
    template_url: str,
    shared_groq: FakeGroq,
) -> AsyncIterator[list[Server]]:
    folder = tmp_path_factory.mktemp("replicas")
    with fresh_database(postgres_url) as url:
        async with AsyncExitStack() as stack:
            with heavy_lock():  # started as each test's own were: not beside another's
                started = await stack.enter_async_context(
                    servers(folder, url, shared_groq.url, 3, GROQ_MAX_RETRIES="0")
                )
            yield started


@pytest.fixture
def shared(shared_servers: list[Server], shared_groq: FakeGroq) -> Shared:
    shared_groq.reset()
    own = secrets.token_hex(4)
    return Shared(shared_servers, shared_groq, f"alice-{own}", f"bob-{own}")


async def _reply_frames(chat: ChatClient, within: float = 20) -> list[Frame]:
    """Frames up to and including the turn's `message`."""
    return await chat.until("message", within=within)


async def _frames_of_turn(chat: ChatClient, sent: list[Frame]) -> list[Frame]:
    """The frames `chat` received of the turn `sent` (from its ack to its reply).

    Frames still on their way from the turn before (relayed between processes) may reach a
    socket that subscribed just after it ended: they come first, and are left out here.
    """
    frames = await chat.until("message", within=20)
    while frames[-1]["message_id"] != sent[-1]["message_id"]:
        frames = await chat.until("message", within=20)
    start = next(i for i, f in enumerate(frames) if f.get("message_id") == sent[0]["message_id"])
    return frames[start:]


async def _history(address: str, conversation_id: str, user: str = "alice") -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/users/{user}/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def test_a_turn_s_frames_reach_subscribers_on_the_other_processes(shared: Shared) -> None:
    shared.fake_groq.default = Fault(token_delay=0.01)
    big = "x" * 12_000  # a reply larger than one NOTIFY (8,000 bytes) goes in pieces
    one, two, three = shared.servers
    async with (
        connect(one.address, shared.alice) as sender,
        connect(two.address, shared.alice) as second_tab,
        connect(three.address, shared.alice) as third_tab,
    ):
        conversation_id = (await sender.turn("start")).ack["conversation_id"]
        for tab in (second_tab, third_tab):
            await tab.send(type="subscribe", conversation_id=conversation_id)
        await sender.send(message=f"{LONG} {big}", conversation_id=conversation_id)
        sent = await _reply_frames(sender)
        seen = [await _frames_of_turn(tab, sent) for tab in (second_tab, third_tab)]
        await second_tab.send(type="unsubscribe", conversation_id=conversation_id)
        await sender.turn("after", conversation_id)
        await third_tab.until("message")  # still subscribed: it sees this turn too

    assert [f["type"] for f in sent][:2] == ["ack", "token"]
    assert sent[-1]["content"] == f"Reply 2: {LONG} {big}"
    assert seen == [sent, sent]
    assert second_tab.events or third_tab.events  # sidebar events came along


async def test_a_reload_mid_reply_resumes_on_another_process_without_gap_or_duplicate(
    shared: Shared,
) -> None:
    # The reply waits after 10 tokens until the reload has resumed it: still running.
    shared.fake_groq.default = model = Fault(hold_after=10)
    one, two, _ = shared.servers
    async with connect(one.address, shared.alice) as before_reload:
        await before_reload.send(message=LONG)
        conversation_id = (await before_reload.receive())["conversation_id"]
        had = [await before_reload.receive() for _ in range(5)]
    async with connect(two.address, shared.alice) as after_reload:
        await after_reload.send(
            type="resume", conversation_id=conversation_id, after_seq=had[-1]["seq"]
        )
        resumed = await after_reload.receive()
        model.release.set()
        rest = [resumed, *await _reply_frames(after_reload)]
        # Once the reply is stored, resume answers with it whole.
        await after_reload.send(type="resume", conversation_id=conversation_id)
        stored = await after_reload.receive()
    history = await _history(one.address, conversation_id, shared.alice)

    tokens = [*had, *rest[:-1]]
    assert [t["type"] for t in tokens] == ["token"] * len(tokens)
    assert [t["seq"] for t in tokens] == list(range(1, len(tokens) + 1))
    assert rest[-1]["seq"] == len(tokens) + 1
    text = "".join(t["delta"] for t in tokens)
    assert text == rest[-1]["content"] == history[-1]["content"] == f"Reply 1: {LONG}"
    assert stored["type"] == "message"
    assert stored["content"] == text
    assert "seq" not in stored


async def test_resume_with_no_reply_at_all_says_so(shared: Shared) -> None:
    shared.fake_groq.default = Fault(status=500)  # the shared servers retry no model call
    async with connect(shared.servers[0].address, shared.alice) as chat:
        await chat.send(message="unanswered")
        conversation_id = (await chat.receive())["conversation_id"]
        assert (await chat.receive())["type"] == "error"
        refused = await chat.error(type="resume", conversation_id=conversation_id)

    assert refused["code"] == "nothing_to_resume"


async def test_a_stop_from_another_process_stops_the_turn_where_it_runs(shared: Shared) -> None:
    # The reply waits after 3 tokens: the stop surely finds it running, however slowly
    # it crosses between the processes.
    shared.fake_groq.default = model = Fault(hold_after=3)
    one, _, three = shared.servers
    async with (
        connect(one.address, shared.alice) as sender,
        connect(three.address, shared.alice) as other,
    ):
        await sender.send(message=LONG)
        conversation_id = (await sender.receive())["conversation_id"]
        await sender.receive()  # a token: the turn runs on the first process
        await other.send(type="stop", conversation_id=conversation_id)
        stopped_here = (await other.until("message"))[-1]
        stopped_there = (await sender.until("message"))[-1]
        model.release.set()
        nothing = await other.error(type="stop", conversation_id=conversation_id)
    history = await _history(three.address, conversation_id, shared.alice)

    assert stopped_here["stopped"] is True
    assert stopped_there == stopped_here
    assert history[-1]["stopped"] is True
    assert history[-1]["content"] == stopped_here["content"]
    assert f"Reply 1: {LONG}".startswith(stopped_here["content"])
    assert nothing["code"] == "nothing_to_stop"


async def test_every_socket_of_the_user_hears_of_changes_made_on_any_process(
    shared: Shared,
) -> None:
    one, two, three = shared.servers
    async with (
        connect(two.address, shared.alice) as sidebar,
        connect(one.address, shared.bob) as bob,
    ):
        async with connect(one.address, shared.alice) as chat:
            conversation_id = (await chat.turn("plan a trip")).ack["conversation_id"]
        async with httpx.AsyncClient(base_url=f"http://{three.address}") as http:
            path = f"/users/{shared.alice}/conversations/{conversation_id}"
            await eventually(lambda: _has_event(sidebar, "renamed"))  # the automatic title
            assert (await http.patch(path, json={"title": "Trip"})).status_code == 200
            await eventually(lambda: _has_event(sidebar, "renamed", "Trip"))
            assert (await http.delete(path)).status_code == 204
            await eventually(lambda: _has_event(sidebar, "deleted"))
        await bob.turn("mine")  # bob's own events only

    events = [(e["event"], e["conversation_id"]) for e in sidebar.events]
    assert events[:2] == [("created", conversation_id), ("updated", conversation_id)]
    assert events[-1] == ("deleted", conversation_id)
    assert all(e["updated_at"] for e in sidebar.events)
    assert {e["conversation_id"] for e in bob.events}.isdisjoint({conversation_id})


async def _has_event(chat: ChatClient, event: str, title: str | None = None) -> bool:
    """Whether `chat` received a sidebar event (reading what has arrived so far)."""
    with contextlib.suppress(TimeoutError):
        await chat.receive(within=0.2)
    return any(
        e["event"] == event and (title is None or e.get("title") == title) for e in chat.events
    )


async def test_presence_totals_every_process_and_forgets_a_killed_one(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    async with servers(tmp_path, database_url, fake_groq.url, 3, PRESENCE_TTL="2") as (
        one,
        two,
        three,
    ):
        async with (
            connect(one.address, "alice"),
            connect(two.address, "alice"),
            connect(two.address, "alice"),
        ):
            assert await connections(three.address, "alice") == 3
            two.process.send_signal(signal.SIGKILL)
            two.process.wait(timeout=10)
            # Gone from the totals within PRESENCE_TTL (plus a beat of the checker).
            await eventually(lambda: _connections_are(three.address, 1), within=8)
        assert await connections(three.address, "alice") == 0


async def _connections_are(address: str, count: int) -> bool:
    return await connections(address, "alice") == count


async def test_a_killed_process_s_acked_message_is_kept_and_another_takes_over(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.2)
    async with servers(tmp_path, database_url, fake_groq.url, 3, TURN_LEASE="12") as (
        one,
        two,
        _,
    ):
        async with connect(two.address, "alice") as doomed:
            await doomed.send(message="first, cut short")
            conversation_id = (await doomed.receive())["conversation_id"]
            two.process.send_signal(signal.SIGKILL)
            two.process.wait(timeout=10)
        fake_groq.default = Fault()
        async with connect(one.address, "alice") as survivor:
            # The dead process still holds the lease: asked there, nobody answers, and
            # the asking server says so in a few seconds rather than never.
            unstoppable = await survivor.error(type="stop", conversation_id=conversation_id)
            nothing = await survivor.error(type="resume", conversation_id=conversation_id)
            turn = await survivor.turn("second", conversation_id)  # waits out the lease
        history = await _history(one.address, conversation_id)

    assert (unstoppable["code"], nothing["code"]) == ("nothing_to_stop", "nothing_to_resume")
    assert turn.reply["content"].endswith(": second")
    assert [m["content"] for m in history if m["role"] == "user"] == ["first, cut short", "second"]


async def test_sigterm_drains_turns_then_closes_sockets_with_1012(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.05)
    async with servers(tmp_path, database_url, fake_groq.url, 2, SHUTDOWN_GRACE="20") as (
        one,
        draining,
    ):
        async with connect(draining.address, "alice") as chat:
            await chat.send(message=LONG)
            conversation_id = (await chat.receive())["conversation_id"]
            await chat.receive()  # a token
            draining.process.send_signal(signal.SIGTERM)
            async with httpx.AsyncClient(base_url=f"http://{draining.address}") as http:
                await eventually(lambda: _status(http, "/ready", 503))
                assert (await http.get("/health")).status_code == 200
            refused = await handshake(draining.address, "/ws/alice")
            assert refused.status_code == 503
            assert refused.json()["code"] == "shutting_down"
            reply = (await chat.until("message"))[-1]
            with pytest.raises(WebSocketDisconnect) as closed:
                await chat.receive(within=10)
        assert draining.process.wait(timeout=15) == 0
        history = await _history(one.address, conversation_id)

    assert reply["stopped"] is False
    assert reply["content"] == f"Reply 1: {LONG}" == history[-1]["content"]
    assert closed.value.code == 1012


async def _status(http: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await http.get(path)).status_code == status


async def test_a_user_with_sockets_on_one_process_costs_no_notices(
    settings: Settings, tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as here, connect(here, "alice") as chat:
        conversation_id = (await chat.turn("start")).ack["conversation_id"]
        async with _notices(database_url) as heard:
            await chat.turn(LONG, conversation_id)
            alone = len(heard)
        async with (
            servers(tmp_path, database_url, fake_groq.url, 1) as (elsewhere,),
            connect(elsewhere.address, "alice") as other_tab,
        ):
            await other_tab.send(type="subscribe", conversation_id=conversation_id)
            async with _notices(database_url) as heard:
                turn = await chat.turn(LONG, conversation_id)
                await other_tab.until("message")
                shared = len(heard)

    assert alone == 0
    assert 0 < shared <= len(turn.tokens) + 3  # tokens go across, batched when they queue


@asynccontextmanager
async def _notices(database_url: str) -> AsyncIterator[list[str]]:
    """The notices published on the database while the block runs."""
    heard: list[str] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("LISTEN threadline")

        async def listen() -> None:
            async for notify in conn.notifies():
                heard.append(notify.payload)

        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            yield heard
            await anyio.sleep(0.3)  # what was published last arrives
            group.cancel_scope.cancel()


async def test_frames_cross_again_once_the_listening_connections_come_back(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    async with (
        servers(tmp_path, database_url, fake_groq.url, 2) as (one, two),
        connect(one.address, "alice") as sender,
    ):
        conversation_id = (await sender.turn("start")).ack["conversation_id"]
        # Cut every server's listening connection, as a database failover would.
        assert await _terminate_listeners(database_url) == 2
        async with connect(two.address, "alice") as other_tab:
            await other_tab.send(type="subscribe", conversation_id=conversation_id)
            await eventually(lambda: _listeners_are(database_url, 2), within=10)
            sent = await sender.turn("after the outage", conversation_id)
            seen = await _frames_of_turn(other_tab, [sent.ack, sent.reply])

    assert seen[-1] == sent.reply


async def _terminate_listeners(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = 'LISTEN threadline'"
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0


async def _listeners_are(database_url: str, count: int) -> bool:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = 'LISTEN threadline'"
        )
        row = await cursor.fetchone()
        return row is not None and int(row[0]) == count


async def test_memories_and_documents_changed_on_one_process_are_seen_on_another(
    shared: Shared,
) -> None:
    async def notes_on_turn(chat: ChatClient) -> list[str]:
        await chat.turn("What is my dog called?")
        request = shared.fake_groq.requests[-1]["messages"]
        return [m["content"].split("\n")[0] for m in request if m["role"] == "system"][1:]

    one, two, _ = shared.servers
    user = f"/users/{shared.alice}"
    async with (
        connect(two.address, shared.alice) as chat,
        httpx.AsyncClient(base_url=f"http://{one.address}") as http,
    ):
        assert await notes_on_turn(chat) == []  # process two now knows alice keeps nothing
        made = await http.post(f"{user}/memories", json={"text": "My dog is Pepper"})
        memory_id = made.json()["memory_id"]
        upload = await http.post(
            f"{user}/documents", files={"file": ("dogs.md", b"Feed dogs twice a day.")}
        )
        path = f"{user}/documents/{upload.json()['document_id']}"
        await eventually(lambda: _status_is(http, path, "ready"), within=20)
        seen: list[str] = []

        async def both_seen() -> bool:
            seen[:] = await notes_on_turn(chat)
            return len(seen) == 2

        await eventually(both_seen, within=10, every=0.2)
        assert seen[0].startswith("Memories about this user")
        assert seen[1].startswith("The user has documents in their knowledge base")

        await http.delete(f"{user}/memories/{memory_id}")
        await http.delete(path)
        await eventually(lambda: _notes_are(notes_on_turn(chat), []), within=10, every=0.2)


async def _status_is(http: httpx.AsyncClient, path: str, status: str) -> bool:
    return bool((await http.get(path)).json()["status"] == status)


async def _notes_are(notes: Awaitable[list[str]], expected: list[str]) -> bool:
    return await notes == expected
