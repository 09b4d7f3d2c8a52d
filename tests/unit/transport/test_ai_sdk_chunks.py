"""A turn's events as the AI SDK's UI message stream chunks: what no e2e turn easily shows
(a graph's interrupt, a failure mid-reply, a failed tool, a reply read from storage)."""

from __future__ import annotations

from typing import Any

import msgspec

from threadline.chat.events import (
    Accepted,
    Event,
    Failed,
    InterruptEvent,
    Replied,
    Token,
    ToolCallEvent,
    ToolResultEvent,
)
from threadline.transport.ai_sdk.chunks import UIStream


def _said(stream: UIStream, *events: Event) -> list[Any]:
    messages = [m for event in events for m in stream.render(event)]
    messages += stream.close()
    return [m.data if m.data == "[DONE]" else msgspec.json.decode(str(m.data)) for m in messages]


def test_a_failure_mid_reply_closes_the_text_and_says_the_code() -> None:
    said = _said(
        UIStream("r"),
        Accepted("c", "u"),
        Token("c", "r", "Hel", seq=1),
        Failed("llm_unavailable", "the model provider answered HTTP 503", retryable=True),
    )
    assert said == [
        {"type": "start", "messageId": "r"},
        {"type": "start-step"},
        {"type": "text-start", "id": "r"},
        {"type": "text-delta", "id": "r", "delta": "Hel"},
        {"type": "text-end", "id": "r"},
        {"type": "error", "errorText": "llm_unavailable: the model provider answered HTTP 503"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "error"},
        "[DONE]",
    ]


def test_a_graphs_interrupt_is_a_data_part_and_the_message_finishes_as_other() -> None:
    said = _said(UIStream("r"), InterruptEvent("c", "i-1", {"question": "which city?"}, seq=1))
    assert said == [
        {"type": "start", "messageId": "r"},
        {
            "type": "data-interrupt",
            "id": "i-1",
            "data": {"interrupt_id": "i-1", "value": {"question": "which city?"}},
        },
        {"type": "finish", "finishReason": "other"},
        "[DONE]",
    ]


def test_a_failed_tool_is_an_output_error_and_the_answer_a_new_step() -> None:
    said = _said(
        UIStream("r"),
        ToolCallEvent("c", "a", "call-1", "calculator", {"expression": "1/0"}, seq=1),
        ToolResultEvent("c", "call-1", "calculator", "division by zero", is_error=True, seq=2),
        Token("c", "r", "Sorry", seq=3),
        Replied("c", "r", "Sorry", "m", seq=4),
    )
    named = {"toolCallId": "call-1", "toolName": "calculator", "dynamic": True}
    assert said == [
        {"type": "start", "messageId": "r"},
        {"type": "start-step"},
        {"type": "tool-input-start", **named},
        {"type": "tool-input-available", **named, "input": {"expression": "1/0"}},
        {
            "type": "tool-output-error",
            "toolCallId": "call-1",
            "dynamic": True,
            "errorText": "division by zero",
        },
        {"type": "finish-step"},
        {"type": "start-step"},
        {"type": "text-start", "id": "r"},
        {"type": "text-delta", "id": "r", "delta": "Sorry"},
        {"type": "text-end", "id": "r"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
        "[DONE]",
    ]


def test_a_reply_read_from_storage_is_one_text_part_under_its_own_id() -> None:
    said = _said(UIStream("new-turn"), Accepted("c", "u"), Replied("c", "stored", "All of it", "m"))
    assert said == [
        {"type": "start", "messageId": "stored"},
        {"type": "start-step"},
        {"type": "text-start", "id": "stored"},
        {"type": "text-delta", "id": "stored", "delta": "All of it"},
        {"type": "text-end", "id": "stored"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
        "[DONE]",
    ]


def test_a_stopped_reply_aborts_without_finish() -> None:
    said = _said(
        UIStream("r"),
        Token("c", "r", "Once upon", seq=1),
        Replied("c", "r", "Once upon", "m", stopped=True, seq=2),
    )
    assert [c if c == "[DONE]" else c["type"] for c in said] == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "finish-step",
        "abort",
        "[DONE]",
    ]
