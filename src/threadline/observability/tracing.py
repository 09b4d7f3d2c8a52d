"""Optional OpenTelemetry traces: a span per turn, per model call and per tool call.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set; then spans go over OTLP/HTTP to that
collector, batched by the SDK in its own thread, so the event loop never waits on an
export. Attributes follow the OpenTelemetry GenAI conventions (`gen_ai.*`). No span
carries message text, tool arguments or tool results: only ids, names, counts, outcomes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode, Tracer

__all__ = ("CONVERSATION_ID", "error_type", "fail", "span", "tracing")

CONVERSATION_ID = "gen_ai.conversation.id"

# OpenTelemetry's own variables for how long an export waits on the collector (seconds,
# as its Python exporter reads them). Unset: 5 s, not the exporter's 10, since a collector
# that is down delays the last flush at shutdown by that much.
_TIMEOUT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
_DEFAULT_TIMEOUT = 5.0

_NO_TRACER: Tracer = trace.NoOpTracer()
_tracer: Tracer = _NO_TRACER


@asynccontextmanager
async def tracing(endpoint: str | None, service_name: str) -> AsyncIterator[None]:
    """Export this process's spans to `endpoint` while the block runs (None: no traces).

    The provider is this module's own, not OpenTelemetry's global one, so an app that
    does its own instrumentation keeps its provider and Threadline's spans stay ours.
    At the end the spans still buffered are sent, in a thread.
    """
    global _tracer  # noqa: PLW0603 - one tracer per process, as OpenTelemetry's own
    if not endpoint:
        yield
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # A collector that is down delays only the exports (and the last flush at shutdown).
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces", timeout=_timeout())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _tracer = provider.get_tracer("threadline")
    try:
        yield
    finally:
        _tracer = _NO_TRACER
        await asyncio.to_thread(provider.shutdown)


def _timeout() -> float | None:
    """5 s, or None (the exporter then reads OpenTelemetry's variables) when one is set."""
    return None if any(os.environ.get(name) for name in _TIMEOUT_VARIABLES) else _DEFAULT_TIMEOUT


@contextmanager
def span(name: str, attributes: dict[str, Any]) -> Iterator[Span]:
    """A span for the block, current inside it (so spans begun inside are its children).

    An exception leaving the block marks the span failed with `error.type`; the exception
    message is not recorded, since it may quote what a user wrote.
    """
    if _tracer is _NO_TRACER:  # traces off: not even a no-op span's context switch
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as error:
            fail(current, error_type(error))
            raise


def fail(current: Span, kind: str) -> None:
    """Mark `current` failed, naming only the failure's kind (`error.type`)."""
    current.set_attribute("error.type", kind)
    current.set_status(Status(StatusCode.ERROR))


def error_type(error: BaseException) -> str:
    """A failure's kind for `error.type`: an HTTP status, else the exception's class."""
    status = getattr(error, "status_code", None)
    return str(status) if isinstance(status, int) else type(error).__name__
