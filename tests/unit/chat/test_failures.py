"""Every exception a client can hear of, mapped to a stable code."""

from __future__ import annotations

import groq
import httpx
import psycopg
import psycopg_pool
import pytest

from threadline.chat.errors import ConversationBusy, ConversationNotFound, TooManyTurns
from threadline.chat.turns.failures import classify, failed
from threadline.llm.errors import IncompleteReply

_REQUEST = httpx.Request("POST", "http://groq.test/openai/v1/chat/completions")


def _status(code: int) -> groq.APIStatusError:
    return groq.APIStatusError("failed", response=httpx.Response(code, request=_REQUEST), body=None)


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (_status(429), "llm_unavailable", True),
        (_status(503), "llm_unavailable", True),
        (_status(400), "llm_error", False),
        (_status(401), "llm_error", False),
        (IncompleteReply(), "llm_unavailable", True),
        (httpx.RemoteProtocolError("cut"), "llm_unavailable", True),
        (groq.APIConnectionError(request=_REQUEST), "llm_unavailable", True),
        (httpx.ConnectError("refused"), "llm_unavailable", True),
        (TimeoutError(), "llm_unavailable", True),
        (psycopg.OperationalError("down"), "storage_unavailable", True),
        (psycopg_pool.PoolTimeout("busy"), "storage_unavailable", True),
        (ConversationNotFound(), "conversation_not_found", False),
        (ConversationBusy(), "conversation_busy", True),
        (TooManyTurns("limit"), "too_many_turns", True),
        (ZeroDivisionError(), "internal_error", False),
    ],
)
def test_each_failure_has_its_code_and_says_whether_to_retry(
    error: BaseException, code: str, retryable: bool
) -> None:
    failure = classify(error)
    assert (failure.code, failure.retryable) == (code, retryable)


def test_an_exceptions_own_message_never_reaches_the_client() -> None:
    frame = failed(ValueError("secret internals"), "c", "request.failed")
    assert "secret" not in frame.detail
    assert frame.conversation_id == "c"
