"""Where a transcript's replay starts, from a thread's checkpoint rows."""

from __future__ import annotations

from typing import Any

from threadline.storage.checkpoints.ledger import plan_replay


def _row(
    checkpoint_id: str, version: str | None, *, snapshot: bool = False, blob: bool = False
) -> dict[str, Any]:
    return {
        "checkpoint_id": checkpoint_id,
        "version": version,
        "snapshot": snapshot,
        "has_blob": blob,
    }


def test_a_thread_of_writes_only_is_replayed_from_its_first_checkpoint() -> None:
    plan = plan_replay([_row("1", "v1"), _row("2", "v2"), _row("3", "v3")])
    assert (plan.since, plan.blob_at, plan.order) == ("", {}, ["1", "2", "3"])


def test_a_window_snapshot_is_read_where_it_first_appears_and_writes_around_it() -> None:
    rows = [
        _row("1", "v1"),
        _row("2", "v2", snapshot=True, blob=True),
        _row("3", "v2"),
        _row("4", "v3"),
    ]
    plan = plan_replay(rows)
    assert plan.blob_at == {"2": "v2"}
    assert plan.order == ["1", "2", "3", "4"]  # folded messages live in the earlier writes


def test_a_thread_from_before_delta_channels_starts_at_its_newest_whole_list() -> None:
    rows = [
        _row("1", "v1", blob=True),
        _row("2", "v2", blob=True),  # the whole list, as the old channel stored it
        _row("3", "v3"),
    ]
    plan = plan_replay(rows)
    assert plan.since == "2"
    assert plan.blob_at == {"2": "v2"}
    assert plan.order == ["2", "3"]


def test_checkpoints_without_the_channel_are_kept_in_order() -> None:
    plan = plan_replay([_row("1", None), _row("2", "v1")])
    assert plan.order == ["1", "2"]
