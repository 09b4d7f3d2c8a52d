"""The wire format of frames, independent of any socket."""

from __future__ import annotations

import msgspec
import pytest

from threadline.chat.events import Accepted, Failed, Replied, Token
from threadline.transport.protocol import FrameDecoder, FrameError, SendMessage
from threadline.transport.websocket_frames import encode

decoder = FrameDecoder(max_message_bytes=32)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"message": "hi"}', SendMessage("hi")),
        ('{"type": "message", "message": "hi"}', SendMessage("hi")),
        ('{"message": "hi", "conversation_id": "abc"}', SendMessage("hi", "abc")),
        ('{"message": "hi", "conversation_id": null}', SendMessage("hi")),
        (
            '{"message": "hi", "conversation_id": 7, "client_message_id": "c"}',
            SendMessage("hi", 7, "c"),
        ),
    ],
)
def test_message_frames_decode_with_type_defaulting_to_message(
    frame: str, expected: SendMessage
) -> None:
    assert decoder.decode(frame) == expected


def test_an_integer_conversation_id_is_referred_to_by_its_decimal_string() -> None:
    assert SendMessage("hi", 42).conversation_ref == "42"
    assert SendMessage("hi", "42").conversation_ref == "42"
    assert SendMessage("hi").conversation_ref is None


@pytest.mark.parametrize(
    "frame",
    [
        '{"message": "hi", "conversation_id": "abc\\n"}',
        '{"message": "hi", "client_message_id": "c\\n"}',
        '{"type": "history", "conversation_id": "abc\\n"}',
    ],
)
def test_an_id_with_a_trailing_newline_is_refused_not_taken_for_another(frame: str) -> None:
    with pytest.raises(FrameError) as raised:
        decoder.decode(frame)
    assert raised.value.code == "invalid_frame"


def test_the_size_limit_counts_utf8_bytes_of_the_message() -> None:
    frame = decoder.decode(msgspec.json.encode({"message": "ü" * 16}).decode())
    assert isinstance(frame, SendMessage)
    assert frame.message == "ü" * 16
    with pytest.raises(FrameError) as raised:
        decoder.decode(msgspec.json.encode({"message": "ü" * 17}).decode())
    assert raised.value.code == "message_too_large"


def test_a_huge_frame_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(FrameError) as raised:
        decoder.decode("{" + " " * 1_000_000)  # would be invalid_json if it were parsed
    assert raised.value.code == "message_too_large"


def test_server_frames_encode_with_their_type_and_without_unset_optionals() -> None:
    assert msgspec.json.decode(encode(Accepted("c", "m"))) == {
        "type": "ack",
        "conversation_id": "c",
        "message_id": "m",
    }
    assert (
        msgspec.json.decode(encode(Accepted("c", "m", "client-1")))["client_message_id"]
        == "client-1"
    )
    assert msgspec.json.decode(encode(Token("c", "r", "Hel"))) == {
        "type": "token",
        "conversation_id": "c",
        "message_id": "r",
        "delta": "Hel",
    }
    assert msgspec.json.decode(encode(Replied("c", "r", "Hello", "m1")))["role"] == "assistant"
    assert msgspec.json.decode(encode(Failed("invalid_json", "bad", retryable=False))) == {
        "type": "error",
        "code": "invalid_json",
        "detail": "bad",
        "retryable": False,
    }
