"""A graph's messages are found by their reducer, whatever the state's kind and key."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph import MessagesState, StateGraph, add_messages
from pydantic import BaseModel
from typing_extensions import TypedDict

from threadline.engine.channels import messages_in, messages_key
from threadline.engine.state import ChatState


class _Named(TypedDict):
    chat: Annotated[list[AnyMessage], add_messages]
    title: str


class _Formatted(TypedDict):
    said: Annotated[list[AnyMessage], add_messages(format="langchain-openai")]


class _Summed(TypedDict):
    items: Annotated[list[AnyMessage], operator.add]


class _Both(MessagesState):
    scratch: Annotated[list[AnyMessage], add_messages]


@dataclass
class _Notes:
    notes: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)


class _Model(BaseModel):
    log: Annotated[list[AnyMessage], add_messages] = []


@pytest.mark.parametrize(
    ("state", "key"),
    [
        (MessagesState, "messages"),
        (_Named, "chat"),
        (_Formatted, "said"),
        (_Both, "messages"),  # `messages` first, when several keys hold messages
        (_Notes, "notes"),
        (_Model, "log"),
        (ChatState, "messages"),  # Threadline's own window
        (_Summed, None),  # a list, but not reduced as messages
    ],
)
def test_the_messages_key_is_the_one_reduced_by_add_messages(state: Any, key: str | None) -> None:
    assert messages_key(StateGraph(state).channels) == key


def test_messages_are_read_from_any_kind_of_values() -> None:
    said: list[AnyMessage] = [HumanMessage("hello", id="m-1")]
    assert messages_in({"chat": said}, "chat") == said
    assert messages_in(_Notes(notes=said), "notes") == said
    assert messages_in(_Model(log=said), "log") == said
    assert messages_in({"other": said}, "chat") == []
