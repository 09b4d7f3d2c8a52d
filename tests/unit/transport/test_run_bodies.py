"""What a LangGraph API run's body asks for: a message, a resume, or neither (refused)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from threadline.transport.langgraph_api.run_bodies import RunCreate
from threadline.transport.rest import ApiError

HUMAN: dict[str, Any] = {"messages": [{"type": "human", "content": "Hi"}]}


def _body(**fields: Any) -> RunCreate:
    return msgspec.convert(fields, RunCreate)


@pytest.mark.parametrize("empty", [None, {}])
def test_an_empty_input_is_no_message_and_alone_is_refused_as_input(empty: Any) -> None:
    body = _body(input=empty)
    assert body.message is None
    with pytest.raises(ApiError) as refused:
        body.refuse_unserved()
    assert refused.value.field == "input"


def test_an_empty_input_beside_a_resume_is_a_resume_as_use_stream_sends_it() -> None:
    body = _body(input={}, command={"resume": True})
    body.refuse_unserved()
    assert body.message is None


def test_a_message_beside_a_command_is_refused_and_alone_is_the_run_s_message() -> None:
    with pytest.raises(ApiError) as refused:
        _body(input=HUMAN, command={"resume": True}).refuse_unserved()
    assert refused.value.field == "command"
    body = _body(input=HUMAN)
    body.refuse_unserved()
    assert body.message == HUMAN
