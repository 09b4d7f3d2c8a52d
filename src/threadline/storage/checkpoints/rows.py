"""A checkpoint as its row stores it, and the row as `get_tuple` selects it.

The official saver keeps primitive channel values in the checkpoint's JSON and the others
as blobs of their own; `PooledPostgresSaver.aput` stores them the same way, and gets back
in the same statement the row a `get_tuple` would read (see `mirror`).
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import Checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot

__all__ = ("PUT_RETURNING_ROW", "split_values", "stores_value")

# `UPSERT_CHECKPOINTS_SQL`, returning the row as `get_tuple` selects it: the columns of
# `SELECT_SQL`, whose subqueries then find the blobs and writes stored with it.
_SELECTED = (
    AsyncPostgresSaver.SELECT_SQL.strip().removeprefix("select").removesuffix("from checkpoints")
)
PUT_RETURNING_ROW = AsyncPostgresSaver.UPSERT_CHECKPOINTS_SQL.strip().removesuffix(";") + (
    "\nRETURNING" + _SELECTED
)


def split_values(checkpoint: Checkpoint) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkpoint as its row stores it, and the channel values stored as blobs.

    Primitive values stay in the row; a delta snapshot leaves a `True` marker there.
    """
    values: dict[str, Any] = dict(checkpoint["channel_values"])
    blobs: dict[str, Any] = {}
    for channel, value in checkpoint["channel_values"].items():
        if isinstance(value, _DeltaSnapshot):
            blobs[channel] = values.pop(channel)
            values[channel] = True
        elif not (value is None or isinstance(value, str | int | float | bool)):
            blobs[channel] = values.pop(channel)
    return {**checkpoint, "channel_values": values}, blobs


def stores_value(row: dict[str, Any], channel: str) -> bool:
    """Whether the checkpoint row holds a value of `channel` (inline, or as a blob)."""
    inline = channel in row["checkpoint"].get("channel_values", {})
    return inline or any(blob[0] == channel.encode() for blob in row["channel_values"] or [])
