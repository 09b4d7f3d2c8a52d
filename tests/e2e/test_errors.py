"""Every error code: a client's mistake gets a clear frame, keeps the socket open and
persists nothing; a server or model failure is reported and the next turn still works."""

from __future__ import annotations

import msgspec
import psycopg
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def _rows(database_url: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def _assert_still_chatting(chat: ChatClient) -> None:
    turn = await chat.turn("still there?")
    assert turn.reply["content"].endswith("still there?")


@pytest.mark.parametrize(
    ("frame", "code", "detail"),
    [
        ("{not json", "invalid_json", "frame is not valid JSON"),
        ('["message", "hi"]', "invalid_frame", "a frame must be a JSON object"),
        ("{}", "invalid_frame", "missing required field `message`"),
        ('{"message": 42}', "invalid_frame", "Expected `str`, got `int` - at `$.message`"),
        ('{"message": ""}', "invalid_frame", "must not be empty"),
        ('{"message": " \\n\\t "}', "invalid_frame", "must not be empty"),
        ('{"message": "hi", "conversation_id": true}', "invalid_frame", "$.conversation_id"),
        ('{"message": "hi", "conversation_id": ""}', "invalid_frame", "$.conversation_id"),
        ('{"message": "hi", "client_message_id": 7}', "invalid_frame", "$.client_message_id"),
        ('{"message": "hi", "conversationId": "x"}', "invalid_frame", "unknown field"),
        ('{"message": "nul \\u0000 byte"}', "invalid_frame", "must not contain NUL"),
        ('{"message": "hi", "conversation_id": "a b"}', "invalid_frame", "$.conversation_id"),
        ('{"message": "hi", "conversation_id": "x\\u0000"}', "invalid_frame", "$.conversation_id"),
        (
            '{"message": "hi", "client_message_id": "c\\u0000"}',
            "invalid_frame",
            "$.client_message_id",
        ),
        ('{"type": "dance", "message": "hi"}', "invalid_frame", "unknown frame type 'dance'"),
        ('{"message": ' + "[" * 1000 + "]" * 1000 + "}", "invalid_json", "nested too deeply"),
        (
            '{"type": "history", "conversation_id": "c", "after_message_id": '
            + '{"a": ' * 1000
            + "1"
            + "}" * 1000
            + "}",
            "invalid_json",
            "nested too deeply",
        ),
        ('{"message": "hi", "conversation_id": ' + "1" * 4300 + "}", "invalid_frame", "$.conv"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
async def test_client_errors_get_a_frame_keep_the_socket_and_persist_nothing(
    settings: Settings, database_url: str, fake_groq: FakeGroq, frame: str, code: str, detail: str
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.ws.send_text(frame)
        error = await chat.receive()
        assert await _rows(database_url, "checkpoints") == 0
        assert await _rows(database_url, "store") == 0
        await _assert_still_chatting(chat)

    assert error["type"] == "error"
    assert error["code"] == code
    assert detail in error["detail"]
    assert error["retryable"] is False
    assert len(fake_groq.requests) == 1  # only the follow-up turn reached the model


async def test_a_binary_frame_is_an_invalid_frame(settings: Settings) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.ws.send_bytes(b'{"message": "hi"}')
        error = await chat.receive()
        await _assert_still_chatting(chat)

    assert error["code"] == "invalid_frame"
    assert "binary frames are not accepted" in error["detail"]


async def test_a_message_over_the_limit_is_refused(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    limit = settings.max_message_bytes
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        at_limit = await chat.turn("é" * (limit // 2))  # 2 bytes each in UTF-8
        over = await chat.error(message="é" * (limit // 2 + 1))
        far_over = await chat.error(message="x" * (limit * 10))
        await _assert_still_chatting(chat)

    assert at_limit.reply["type"] == "message"
    for error in (over, far_over):
        assert error["code"] == "message_too_large"
        assert f"limit of {limit} bytes" in error["detail"]
    assert len(fake_groq.requests) == 2


async def test_the_message_limit_is_configurable(settings: Settings) -> None:
    small = msgspec.structs.replace(settings, max_message_bytes=10)
    async with serve_threadline(small) as address, connect(address, "alice") as chat:
        error = await chat.error(message="eleven char")
        await chat.turn("ten chars!")

    assert error["code"] == "message_too_large"


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (500, "llm_unavailable", True),
        (503, "llm_unavailable", True),
        (429, "llm_unavailable", True),
        (400, "llm_error", False),
        (401, "llm_error", False),
    ],
)
async def test_a_model_failure_is_reported_and_the_next_turn_works(
    settings: Settings, fake_groq: FakeGroq, status: int, code: str, retryable: bool
) -> None:
    fake_groq.faults.append(Fault(status=status))
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message="first try")
        ack = await chat.receive()
        error = await chat.receive()
        conversation_id = ack["conversation_id"]
        await chat.turn("second try", conversation_id)

    assert ack["type"] == "ack"
    assert error == {
        "type": "error",
        "code": code,
        "detail": f"the model provider answered HTTP {status}",
        "retryable": retryable,
        "conversation_id": conversation_id,
    }
    # The failed turn's message was kept: the model sees it on the next turn.
    assert fake_groq.user_turns()[1:] == ["user: first try", "user: second try"]


async def test_an_unreachable_model_is_llm_unavailable(settings: Settings) -> None:
    unreachable = msgspec.structs.replace(settings, groq_api_base="http://127.0.0.1:9")
    async with serve_threadline(unreachable) as address, connect(address, "alice") as chat:
        await chat.send(message="hello?")
        await chat.receive()
        error = await chat.receive()

    assert error["code"] == "llm_unavailable"
    assert error["retryable"] is True
    assert error["detail"] == "the model provider could not be reached"


async def test_a_storage_failure_is_an_internal_error_and_the_socket_stays_open(
    settings: Settings, database_url: str
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("ALTER TABLE checkpoints RENAME TO checkpoints_away")
        # No ack: an ack promises the message is stored, and it could not be.
        error = await chat.error(message="are you there?", conversation_id=conversation_id)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("ALTER TABLE checkpoints_away RENAME TO checkpoints")
        await chat.turn("back again", conversation_id)

    assert error == {
        "type": "error",
        "code": "internal_error",
        "detail": "the server failed to complete this turn",
        "retryable": False,
        "conversation_id": conversation_id,
    }
