"""`GET /metrics` in Prometheus format after real turns over a real socket: turns by outcome,
model timings and tokens (GenAI names), model errors by code, sockets, queued turns, the
pool, HTTP requests; open without authentication, an admin's with it.

Metrics are per process and the tests share theirs, so each compares before and after."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.credentials import api_keys
from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent.parent

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(address: str, headers: dict[str, str] | None = None) -> Samples:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_turn_is_counted_timed_and_its_tokens_recorded(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    model = {"gen_ai_request_model": settings.groq_model}
    async with serve_threadline(settings) as address:
        before = await _scrape(address)
        async with connect(address, "alice") as chat:
            await chat.turn("hello there")
            during = await _scrape(address)
        async with httpx.AsyncClient() as http:
            await http.get(f"http://{address}/users/alice/conversations")
        after = await _scrape(address)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("threadline_turns_total", outcome="message") == 1
    assert grew("threadline_turn_duration_seconds_count") == 1
    assert grew("gen_ai_server_time_to_first_token_seconds_count", **model) == 1
    assert grew("gen_ai_client_operation_duration_seconds_count", **model) == 1
    input_tokens = {**model, "gen_ai_token_type": "input"}
    output_tokens = {**model, "gen_ai_token_type": "output"}
    assert grew("gen_ai_client_token_usage_sum", **input_tokens) == 10  # the fake's count
    assert grew("gen_ai_client_token_usage_sum", **output_tokens) == 4  # "Reply 1: hello there"
    assert _value(during, "threadline_open_sockets") >= 1
    assert _value(after, "threadline_open_sockets") == _value(before, "threadline_open_sockets")
    assert ("threadline_db_pool_in_use", ()) in after
    assert ("threadline_db_pool_waiting", ()) in after
    listed = {
        "app_name": "threadline",
        "method": "GET",
        "path": "/users/{user_id}/conversations",
        "status_code": "200",
    }
    assert grew("threadline_requests_total", **listed) == 1


async def test_the_grafana_dashboard_queries_only_what_the_server_serves(
    settings: Settings,
) -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "threadline.json").read_text())
    queried = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:threadline|gen_ai)_[a-z_]+\b", target["expr"])
    } - {"gen_ai_request_model", "gen_ai_token_type"}  # label names, not series
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        await http.get(f"http://{address}/health")  # HTTP metrics appear with a request
        text = (await http.get(f"http://{address}/metrics")).text
    declared = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    assert len(queried) >= 10
    assert queried <= declared


async def test_model_errors_are_counted_by_code_and_turns_by_their_error(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        before = await _scrape(address)
        fake_groq.faults.append(Fault(status=503))
        async with connect(address, "alice") as chat:
            await chat.send(message="hello?")
            error = (await chat.until("error"))[-1]
        after = await _scrape(address)
    assert (
        _value(after, "threadline_model_errors_total", code="503")
        - _value(before, "threadline_model_errors_total", code="503")
        == 1
    )
    outcome = {"outcome": error["code"]}
    assert (
        _value(after, "threadline_turns_total", **outcome)
        - _value(before, "threadline_turns_total", **outcome)
        == 1
    )


async def test_turns_waiting_behind_a_running_one_are_counted(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("first")).ack["conversation_id"]
        before = _value(await _scrape(address), "threadline_queued_turns")
        fake_groq.faults.append(Fault(token_delay=0.2))
        await chat.send(message="slow one", conversation_id=conversation_id)
        await chat.until("token")
        await chat.send(message="waiting", conversation_id=conversation_id)
        await chat.until("queued")
        waiting = _value(await _scrape(address), "threadline_queued_turns")
        await chat.send(type="stop", conversation_id=conversation_id)
        await chat.until("message", within=20)
        await chat.until("message", within=20)
        after = _value(await _scrape(address), "threadline_queued_turns")
    assert waiting == before + 1
    assert after == before


async def test_with_authentication_only_an_admin_may_read_metrics(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = {"X-API-Key": (await keys.create("ops", user_id=None, admin=True)).key}
        alice = {"X-API-Key": (await keys.create("alice", user_id="alice", admin=False)).key}
    secured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(secured) as address, httpx.AsyncClient() as http:
        anonymous = await http.get(f"http://{address}/metrics")
        users = await http.get(f"http://{address}/metrics", headers=alice)
        admins = await http.get(f"http://{address}/metrics", headers=admin)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
    assert (users.status_code, users.json()["code"]) == (403, "forbidden")
    assert admins.status_code == 200
    assert "# TYPE threadline_turns_total counter" in admins.text
