"""Remembered decodes: a blob read again is not decoded again, within a memory budget."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from threadline.memo import MemoizingSerializer


class CountingSerializer(JsonPlusSerializer):
    """The plain serializer, counting how often it decodes."""

    def __init__(self) -> None:
        super().__init__()
        self.decoded = 0

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        self.decoded += 1
        return super().loads_typed(data)


def _blob(text: str) -> tuple[str, bytes]:
    return JsonPlusSerializer().dumps_typed([HumanMessage(text, id=text)])


def test_the_same_blob_read_twice_is_decoded_once() -> None:
    inner = CountingSerializer()
    serde = MemoizingSerializer(inner)
    first = serde.loads_typed(_blob("hello"))
    second = serde.loads_typed(_blob("hello"))
    assert first == second == [HumanMessage("hello", id="hello")]
    assert inner.decoded == 1


def test_changing_a_returned_list_does_not_change_the_next_read() -> None:
    serde = MemoizingSerializer(JsonPlusSerializer())
    serde.loads_typed(_blob("hello")).append("not stored")
    assert serde.loads_typed(_blob("hello")) == [HumanMessage("hello", id="hello")]


def test_past_the_budget_the_least_recently_read_are_decoded_again() -> None:
    inner = CountingSerializer()
    size = len(_blob("m0")[1])
    serde = MemoizingSerializer(inner, budget_bytes=3 * size)  # room for three
    for n in range(4):
        serde.loads_typed(_blob(f"m{n}"))
    serde.loads_typed(_blob("m3"))  # still remembered
    serde.loads_typed(_blob("m0"))  # forgotten: the oldest of four
    assert inner.decoded == 5
