"""Compressed checkpoint blobs: smaller when it helps, and old plain blobs still load."""

from __future__ import annotations

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from threadline.storage.checkpoints.compression import CompressedSerializer


def test_a_message_is_stored_compressed_and_loads_back_equal() -> None:
    message = HumanMessage("a long message about the weather " * 30, id="m1")
    kind, blob = CompressedSerializer().dumps_typed([message])
    plain_kind, plain_blob = JsonPlusSerializer().dumps_typed([message])
    assert kind == f"{plain_kind}+zlib"
    assert len(blob) < len(plain_blob) / 3
    assert CompressedSerializer().loads_typed((kind, blob)) == [message]


def test_small_values_and_markers_are_left_as_they_are() -> None:
    serde = CompressedSerializer()
    assert serde.dumps_typed(None) == JsonPlusSerializer().dumps_typed(None)
    assert serde.dumps_typed(["short"]) == JsonPlusSerializer().dumps_typed(["short"])


def test_blobs_written_without_compression_still_load() -> None:
    message = HumanMessage("written by the plain serializer " * 30, id="m2")
    stored = JsonPlusSerializer().dumps_typed([message])
    assert CompressedSerializer().loads_typed(stored) == [message]
