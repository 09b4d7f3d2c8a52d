"""Remembered decodes: a blob read again is not decoded again, within a memory budget."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from threadline.storage.checkpoints.memo import MEMORY_PER_STORED_BYTE, MemoizingSerializer


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
    room_for_three = 3 * size * MEMORY_PER_STORED_BYTE
    serde = MemoizingSerializer(inner, memory_bytes=room_for_three)
    for n in range(4):
        serde.loads_typed(_blob(f"m{n}"))
    serde.loads_typed(_blob("m3"))  # still remembered
    serde.loads_typed(_blob("m0"))  # forgotten: the oldest of four
    assert inner.decoded == 5


def test_reads_from_many_threads_get_the_right_values() -> None:
    # The saver decodes in worker threads, and evictions race with reads there.
    blobs = [_blob(f"m{n}") for n in range(50)]
    room_for_ten = 10 * len(blobs[0][1]) * MEMORY_PER_STORED_BYTE
    serde = MemoizingSerializer(JsonPlusSerializer(), memory_bytes=room_for_ten)

    def read(worker: int) -> bool:
        return all(
            serde.loads_typed(blobs[(worker + i) % 50])
            == [HumanMessage(f"m{(worker + i) % 50}", id=f"m{(worker + i) % 50}")]
            for i in range(500)
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(read, range(8)))


def test_changing_a_read_message_in_place_does_not_change_the_next_read() -> None:
    serde = MemoizingSerializer(JsonPlusSerializer())
    blob = JsonPlusSerializer().dumps_typed(
        [HumanMessage("hello", id="h", additional_kwargs={"tags": ["a"]})]
    )
    read = serde.loads_typed(blob)[0]
    read.content = "changed"
    read.additional_kwargs["tags"].append("b")
    read.additional_kwargs["new"] = 1
    assert serde.loads_typed(blob) == [
        HumanMessage("hello", id="h", additional_kwargs={"tags": ["a"]})
    ]


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_blob_not_read_for_the_idle_time_is_forgotten() -> None:
    inner, clock = CountingSerializer(), Clock()
    serde = MemoizingSerializer(inner, idle_seconds=60, clock=clock)
    serde.loads_typed(_blob("old"))
    clock.now = 61
    serde.loads_typed(_blob("new"))  # a conversation served now
    serde.loads_typed(_blob("old"))
    assert inner.decoded == 3  # "old" decoded again: it was forgotten


def test_a_blob_read_within_the_idle_time_stays() -> None:
    inner, clock = CountingSerializer(), Clock()
    serde = MemoizingSerializer(inner, idle_seconds=60, clock=clock)
    serde.loads_typed(_blob("kept"))
    clock.now = 50
    serde.loads_typed(_blob("kept"))  # read again: idle from now
    clock.now = 100
    serde.loads_typed(_blob("new"))
    serde.loads_typed(_blob("kept"))
    assert inner.decoded == 2


def test_new_conversations_one_after_another_keep_only_the_recent_ones() -> None:
    # A process that serves conversation after conversation holds what was read within
    # the idle time, not everything it has served (a full collection walks all of it).
    clock = Clock()
    serde = MemoizingSerializer(JsonPlusSerializer(), idle_seconds=60, clock=clock)
    for conversation in range(100):
        clock.now = conversation * 10.0  # one conversation every ten seconds
        for message in range(5):
            serde.loads_typed(_blob(f"c{conversation}m{message}"))
        assert serde.remembered() <= 7 * 5  # those of the last 60 seconds (and this one)
