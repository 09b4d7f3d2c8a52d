"""A turn's series as the LangGraph server's stream modes: names, shapes and ids of its events."""

from __future__ import annotations

from threadline.chat import events
from threadline.transport.langgraph_api.stream_modes import RunStream, SseEvent, ends_run

HUMAN = {"type": "human", "content": "What is 2+2?", "id": "h1"}


def _tool_turn() -> list[events.Event]:
    """A turn that calls a tool, then answers: as a turn emits it, numbered."""
    return [
        events.Accepted("t", "h1"),
        events.ToolCallEvent("t", "a1", "call1", "calculator", {"expression": "2+2"}, seq=1),
        events.ToolResultEvent("t", "call1", "calculator", "4", is_error=False, seq=2),
        events.Token("t", "r1", "It is ", seq=3),
        events.Token("t", "r1", "4.", seq=4),
        events.Replied("t", "r1", "It is 4.", "m", seq=5),
        events.Context("t", 10, 100, 4, 4, summarized=False),
    ]


def _run(stream: RunStream, turn: list[events.Event]) -> list[SseEvent]:
    sent = [stream.metadata(), *stream.start({"messages": [HUMAN]})]
    for event in turn:
        sent += stream.translate(event)
        if ends_run(event):
            sent += stream.end({"messages": [HUMAN, {"id": "final"}]})
            break
    return sent


def test_values_and_messages_tuple_as_use_stream_reads_them() -> None:
    sent = _run(RunStream("run1", "t", ["values", "messages-tuple"]), _tool_turn())

    names = [e.event for e in sent]
    assert names == [
        "metadata",
        "values",  # the input stored
        "messages",  # the tool call, as a chunk of its message
        "values",  # after the model's step
        "messages",  # the tool's result
        "values",  # after the tools' step
        "messages",
        "messages",  # the reply's tokens
        "values",  # the end, as stored
    ]
    assert sent[0].data == {"run_id": "run1", "thread_id": "t", "attempt": 1}
    assert sent[1].data == {"messages": [HUMAN]}
    call, metadata = sent[2].data
    assert (call["type"], call["id"], call["content"]) == ("AIMessageChunk", "a1", "")
    assert call["tool_calls"] == [
        {"name": "calculator", "args": {"expression": "2+2"}, "id": "call1", "type": "tool_call"}
    ]
    assert call["tool_call_chunks"][0]["args"] == '{"expression": "2+2"}'
    assert metadata["langgraph_node"] == "respond"
    assert metadata["run_id"] == "run1"
    assert [m["type"] for m in sent[3].data["messages"]] == ["human", "ai"]
    result, metadata = sent[4].data
    assert (result["type"], result["content"], result["tool_call_id"]) == ("tool", "4", "call1")
    assert metadata["langgraph_node"] == "tools"
    assert [m["type"] for m in sent[5].data["messages"]] == ["human", "ai", "tool"]
    assert [e.data[0]["content"] for e in sent[6:8]] == ["It is ", "4."]
    assert {e.data[0]["id"] for e in sent[6:8]} == {"r1"}
    assert sent[-1].data == {"messages": [HUMAN, {"id": "final"}]}


def test_event_ids_are_the_turn_s_seq() -> None:
    sent = _run(RunStream("run1", "t", ["values", "messages-tuple"]), _tool_turn())

    assert [e.id for e in sent] == [None, None, "1", "1", "2", "2", "3", "4", "5"]


def test_messages_mode_tells_metadata_once_then_the_message_so_far() -> None:
    sent = _run(RunStream("run1", "t", ["messages"]), _tool_turn())

    metadata = {"r1": {"metadata": {"run_id": "run1", "langgraph_node": "respond"}}}
    assert (sent[1].event, sent[1].data) == ("messages/metadata", metadata)
    partial = [(e.event, e.data[0]["type"], e.data[0]["content"]) for e in sent[2:4]]
    assert partial == [
        ("messages/partial", "ai", "It is "),
        ("messages/partial", "ai", "It is 4."),
    ]
    assert sent[-1].event == "messages/complete"
    assert sent[-1].data[0]["content"] == "It is 4."


def test_updates_name_the_node_of_each_step() -> None:
    sent = _run(RunStream("run1", "t", ["updates"]), _tool_turn())

    updates = [e.data for e in sent if e.event == "updates"]
    assert [next(iter(u)) for u in updates] == ["respond", "tools", "respond"]
    assert updates[1]["tools"]["messages"][0]["content"] == "4"
    assert updates[2]["respond"]["messages"][0]["content"] == "It is 4."


def test_a_paused_run_ends_with_its_interrupts_in_values() -> None:
    stream = RunStream("run1", "t", ["values", "messages-tuple"])
    asked = events.InterruptEvent("t", "i1", {"question": "Which city?"}, seq=1)
    stream.start({"messages": [HUMAN]})

    assert stream.translate(asked) == []
    assert ends_run(asked)
    pending = [{"value": {"question": "Which city?"}, "id": "i1"}]
    assert stream.end({"messages": [HUMAN]}, pending) == [
        SseEvent("values", {"messages": [HUMAN]}, None),
        SseEvent("values", {"__interrupt__": pending}, None),
    ]


def test_a_failure_is_an_error_event_with_threadline_s_code() -> None:
    stream = RunStream("run1", "t", ["values"])
    failure = events.Failed("llm_unavailable", "the model did not answer", retryable=True)

    assert stream.translate(failure) == [
        SseEvent(
            "error",
            {
                "error": "llm_unavailable",
                "message": "the model did not answer",
                "code": "llm_unavailable",
            },
        )
    ]
    assert ends_run(failure)


def test_a_reply_from_storage_is_sent_whole() -> None:
    # A resend of an answered message: its reply is replayed, never streamed.
    stream = RunStream("run1", "t", ["messages-tuple"])

    sent = stream.translate(events.Replied("t", "r1", "Stored answer", "m"))

    assert [(e.event, e.data[0]["content"], e.id) for e in sent] == [
        ("messages", "Stored answer", None)
    ]


def test_subgraph_events_are_named_by_their_agent() -> None:
    stream = RunStream("run1", "t", ["messages-tuple", "values"], subgraphs=True)
    stream.start({})

    sent = stream.translate(events.Token("t", "r1", "Hi", seq=1, agent="researcher"))

    assert [e.event for e in sent] == ["messages|researcher"]
    assert [e.event for e in stream.end({"messages": []})] == ["values"]
