"""OpenTelemetry traces: a server with OTEL_EXPORTER_OTLP_ENDPOINT sends a span per turn,
per model call and per tool call to a collector (here, one speaking OTLP/HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from litestar import Litestar, Request, Response, post
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.fake_groq import FakeGroq, Fault
from tests.polling import eventually
from tests.processes import servers
from tests.serving import serve_app
from tests.wsclient import ChatClient, connect

pytestmark = pytest.mark.anyio

WORDS = "my kumquat tree needs water"


@dataclass
class Collector:
    """Receives OTLP/HTTP trace exports, as an OpenTelemetry collector would."""

    bodies: list[bytes] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    services: set[str] = field(default_factory=set)

    def app(self) -> Litestar:
        @post("/v1/traces", status_code=200)
        async def export(request: Request[Any, Any, Any]) -> Response[bytes]:
            body = await request.body()
            self.bodies.append(body)
            for resource_spans in MessageToDict(ExportTraceServiceRequest.FromString(body)).get(
                "resourceSpans", []
            ):
                for attribute in resource_spans["resource"]["attributes"]:
                    if attribute["key"] == "service.name":
                        self.services.add(attribute["value"]["stringValue"])
                for scope in resource_spans["scopeSpans"]:
                    self.spans.extend(_flat(span) for span in scope["spans"])
            return Response(b"", media_type="application/x-protobuf")

        return Litestar(route_handlers=[export], logging_config=None)

    def named(self, prefix: str) -> list[dict[str, Any]]:
        return [span for span in self.spans if span["name"].startswith(prefix)]


def _flat(span: dict[str, Any]) -> dict[str, Any]:
    """A span with its attributes as a plain dict."""
    attributes = {}
    for attribute in span.get("attributes", []):
        value = attribute["value"]
        attributes[attribute["key"]] = next(iter(value.values()))
    return {**span, "attributes": attributes}


@asynccontextmanager
async def traced(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq, collector: Collector
) -> AsyncIterator[ChatClient]:
    """A server exporting to `collector`, and alice's socket; waits for the turn's span."""
    async with serve_app(collector.app()) as otlp:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{otlp}", "OTEL_BSP_SCHEDULE_DELAY": "50"}
        async with (
            servers(tmp_path, database_url, fake_groq.url, 1, **env) as [server],
            connect(server.address, "alice") as alice,
        ):
            yield alice

            async def exported() -> bool:
                return bool(collector.named("invoke_agent"))

            await eventually(exported, within=10)


async def test_a_turn_its_model_calls_and_its_tool_call_are_one_trace_without_text(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    collector = Collector()
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    async with traced(tmp_path, database_url, fake_groq, collector) as alice:
        await alice.send(message=WORDS)
        frames = await alice.until("message")

    conversation_id = frames[0]["conversation_id"]
    [turn] = collector.named("invoke_agent")
    calls = collector.named("chat ")
    [tool] = collector.named("execute_tool")
    assert collector.services == {"threadline"}
    assert len(calls) == 2  # the call that asked for the tool, then the answer
    for span in [*calls, tool]:
        assert span["traceId"] == turn["traceId"]
        assert span["parentSpanId"] == turn["spanId"]
    for span in [turn, *calls, tool]:
        assert span["attributes"]["gen_ai.conversation.id"] == conversation_id
    assert turn["attributes"]["threadline.turn.outcome"] == "message"
    assert turn["attributes"]["threadline.turn.id"] == frames[-1]["message_id"]
    answer = calls[-1]["attributes"]
    assert answer["gen_ai.operation.name"] == "chat"
    assert answer["gen_ai.provider.name"] == "groq"
    assert answer["gen_ai.request.model"] == "openai/gpt-oss-20b"
    assert int(answer["gen_ai.usage.input_tokens"]) == 10
    assert int(answer["gen_ai.usage.output_tokens"]) == len(frames[-1]["content"].split())
    assert tool["attributes"]["gen_ai.tool.name"] == "calculator"
    assert tool["attributes"]["gen_ai.operation.name"] == "execute_tool"
    # Never the user's words, the tool's arguments or its result.
    for body in collector.bodies:
        assert b"kumquat" not in body
        assert b"6 * 7" not in body
        assert b"= 42" not in body


async def test_a_failing_model_call_is_a_failed_span_naming_only_the_status(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    collector = Collector()
    fake_groq.default = Fault(status=400)
    async with traced(tmp_path, database_url, fake_groq, collector) as alice:
        await alice.send(message=WORDS)
        error = (await alice.until("error"))[-1]

    [turn] = collector.named("invoke_agent")
    [call] = collector.named("chat ")
    assert error["code"] == "llm_error"
    assert turn["attributes"]["threadline.turn.outcome"] == "llm_error"
    assert call["attributes"]["error.type"] == "400"
    assert call["status"]["code"] == "STATUS_CODE_ERROR"
    assert all(b"kumquat" not in body for body in collector.bodies)


async def test_a_collector_that_is_down_delays_no_turn(
    tmp_path: Path, database_url: str, fake_groq: FakeGroq
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        # OpenTelemetry's own: each export gives up within 0.5 s, so the last flush at
        # shutdown does too (5 s by default).
        "OTEL_EXPORTER_OTLP_TIMEOUT": "0.5",
    }
    async with (
        servers(tmp_path, database_url, fake_groq.url, 1, **env) as [server],
        connect(server.address, "alice") as alice,
    ):
        first = await alice.turn("hello")
        second = await alice.turn("again", first.ack["conversation_id"])

    assert second.reply["content"] == "Reply 2: again"
