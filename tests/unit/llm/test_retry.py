"""How long a failed model request waits before it is sent again."""

from __future__ import annotations

import groq
import httpx

from threadline.llm.retry import RetryPolicy

_REQUEST = httpx.Request("POST", "http://groq.test/openai/v1/chat/completions")


def _rate_limited(retry_after: str) -> groq.APIStatusError:
    response = httpx.Response(429, request=_REQUEST, headers={"retry-after": retry_after})
    return groq.APIStatusError("slow down", response=response, body=None)


def test_the_providers_retry_after_wins_within_a_cap() -> None:
    policy = RetryPolicy(max_retries=3, backoff=0.5)
    assert policy.delay(0, _rate_limited("2.5")) == 2.5
    assert policy.delay(0, _rate_limited("3600")) == 20.0


def test_without_retry_after_the_delay_doubles_with_jitter() -> None:
    policy = RetryPolicy(max_retries=5, backoff=0.5)
    error = httpx.ConnectError("refused")
    for attempt in range(4):
        delay = policy.delay(attempt, error)
        assert 0.5 * 2**attempt * 0.5 <= delay <= 0.5 * 2**attempt


def test_a_retry_after_that_is_not_a_number_falls_back_to_backoff() -> None:
    policy = RetryPolicy(max_retries=1, backoff=1.0)
    assert 0.5 <= policy.delay(0, _rate_limited("Wed, 21 Oct 2026 07:28:00 GMT")) <= 1.0
