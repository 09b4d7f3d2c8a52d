"""The LangGraph API's runs on two server processes sharing one database: a stream dropped
on one is rejoined on the other after its last event id, without gap or duplicate."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, cast

import pytest
from langgraph_sdk.schema import StreamPart

from tests.fake_groq import FakeGroq, Fault
from tests.lgclient import client
from tests.processes import servers

# Server processes of their own: one such test at a time (see test_replicas.py).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("one_at_a_time")]

LONG = " ".join(f"word{i}" for i in range(40))
MODES: list[Any] = ["values", "messages-tuple"]
INPUT: dict[str, Any] = {"messages": [{"type": "human", "content": LONG}]}


def _said(parts: list[StreamPart]) -> str:
    return "".join(p.data[0]["content"] for p in parts if p.event == "messages")


async def test_a_run_streamed_on_one_process_is_rejoined_on_another(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.03)
    async with servers(tmp_path, database_url, fake_groq.url, 2) as (one, two):
        async with client(one.address) as first:
            thread_id = (await first.threads.create())["thread_id"]
            parts = first.runs.stream(
                thread_id,
                "threadline",
                input=INPUT,
                stream_mode=MODES,
            )
            had: list[StreamPart] = []
            async for part in parts:
                had.append(part)
                if sum(p.event == "messages" for p in had) == 5:
                    break
            await cast("AsyncGenerator[StreamPart]", parts).aclose()
        run_id = had[0].data["run_id"]
        async with client(two.address) as second:
            assert (await second.runs.get(thread_id, run_id))["status"] == "running"
            rest = [
                p
                async for p in second.runs.join_stream(
                    thread_id,
                    run_id,
                    last_event_id=had[-1].id,
                    stream_mode=MODES,
                )
            ]
            assert (await second.runs.get(thread_id, run_id))["status"] == "success"
    ids = [int(p.id) for p in [*had, *rest] if p.event == "messages" and p.id]
    assert ids == list(range(1, len(ids) + 1))
    assert _said(had) + _said(rest) == f"Reply 1: {LONG}"
    assert rest[-1].data["messages"][-1]["content"] == f"Reply 1: {LONG}"
