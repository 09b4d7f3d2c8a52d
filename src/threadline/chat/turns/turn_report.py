"""What a turn tells operators: a span around it, then its outcome as a metric and a log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span

from threadline.chat.events import ApprovalRequired, Event, Failed, InterruptEvent, Replied
from threadline.observability.metrics import observe_turn
from threadline.observability.tracing import CONVERSATION_ID, span

__all__ = ("TurnReport", "outcome_of", "turn_report")

logger = logging.getLogger("threadline.chat.turns.turn")


class TurnReport:
    """A turn being reported: knows its span and when it began."""

    def __init__(self, current: Span, conversation_id: str) -> None:
        self._span = current
        self._conversation_id = conversation_id
        self._started = time.perf_counter()

    def ended(self, event: Event) -> None:
        """The turn ended with `event` (its reply, its error, or what it waits for)."""
        outcome = outcome_of(event)
        seconds = time.perf_counter() - self._started
        self._span.set_attribute("threadline.turn.outcome", outcome)
        observe_turn(outcome, seconds)
        if isinstance(event, Replied):
            logger.info(
                "turn.completed",
                extra={
                    "conversation_id": self._conversation_id,
                    "model": event.model,
                    "stopped": event.stopped,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )


@contextmanager
def turn_report(conversation_id: str, turn_id: str) -> Iterator[TurnReport]:
    """Report a turn from now (queued or not) to the block's end.

    The span is current inside the block, so the model's and the tools' spans are its
    children.
    """
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        CONVERSATION_ID: conversation_id,
        "threadline.turn.id": turn_id,
    }
    with span("invoke_agent threadline", attributes) as current:
        yield TurnReport(current, conversation_id)


def outcome_of(event: Event) -> str:
    """How a turn ended, as its metrics count it."""
    if isinstance(event, Replied):
        return "stopped" if event.stopped else "message"
    if isinstance(event, Failed):
        return event.code
    if isinstance(event, InterruptEvent):
        return "interrupt"
    return "approval" if isinstance(event, ApprovalRequired) else type(event).__name__
