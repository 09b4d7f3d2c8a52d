"""The mirror of a thread's latest checkpoint: trusted only when it agrees with the database."""

from __future__ import annotations

from typing import Any

from threadline.storage.checkpoints.mirror import Mirror, write_row


def _row(checkpoint_id: str, *writes: list[bytes], parent: str | None = None) -> dict[str, Any]:
    return {
        "thread_id": "t",
        "checkpoint_ns": "",
        "checkpoint_id": checkpoint_id,
        "parent_checkpoint_id": parent,
        "checkpoint": {"id": checkpoint_id, "channel_values": {}},
        "metadata": {"step": 1},
        "channel_values": None,
        "pending_writes": list(writes),
    }


def _write(task: str, idx: int, blob: bytes) -> list[bytes]:
    return write_row((task, "", idx, "messages", "msgpack", blob))


def _blobs(row: dict[str, Any] | None) -> list[bytes]:
    assert row is not None
    return [write[3] for write in row["pending_writes"]]


def test_nothing_is_served_outside_a_turn_that_checked_it() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1"))
    assert mirror.latest("t") is None  # the lease is given back: no longer trusted
    with mirror.trusting("t", "1 0"):
        assert mirror.latest("t") is not None


def test_a_thread_changed_elsewhere_is_dropped() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1"))
    with mirror.trusting("t", "1 1"):  # one write more than remembered
        assert mirror.latest("t") is None
    with mirror.trusting("t", "1 0"):  # and it stays forgotten
        assert mirror.latest("t") is None


def test_writes_apply_as_the_statements_do() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1", _write("a", 0, b"first")))
        mirror.wrote("t", "1", [_write("a", 0, b"again"), _write("b", 0, b"b")], replace=False)
        mirror.wrote("t", "1", [_write("b", 0, b"b, upserted")], replace=True)
        assert _blobs(mirror.latest("t")) == [b"first", b"b, upserted"]
        mirror.wrote("t", "0", [_write("c", 0, b"on an older checkpoint")], replace=False)
        assert _blobs(mirror.latest("t")) == [b"first", b"b, upserted"]


def test_writes_on_a_checkpoint_whose_row_comes_back_later_are_kept() -> None:
    # LangGraph stores a checkpoint and the writes on it in two tasks at once.
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1"))
        mirror.wrote("t", "2", [_write("a", 0, b"interrupt")], replace=True)
        mirror.remember("t", _row("2"))  # returned before the write was stored
        assert _blobs(mirror.latest("t")) == [b"interrupt"]
        mirror.wrote("t", "3", [_write("a", 0, b"early")], replace=False)
        mirror.remember("t", _row("3", _write("a", 0, b"early")))  # returned after it
        assert _blobs(mirror.latest("t")) == [b"early"]


def test_a_write_outside_a_trusted_turn_forgets_the_thread() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1"))
    mirror.wrote("t", "1", [_write("a", 0, b"x")], replace=False)
    with mirror.trusting("t", "1 0"):
        assert mirror.latest("t") is None


def test_what_a_reader_changes_in_place_is_not_served_again() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1"))
        loaded = mirror.latest("t")
        assert loaded is not None
        loaded["checkpoint"]["channel_values"]["meddled"] = True
        loaded["pending_writes"].append(_write("z", 0, b"meddled"))
        again = mirror.latest("t")
    assert again is not None
    assert again["checkpoint"]["channel_values"] == {}
    assert again["pending_writes"] == []


def test_a_thread_seen_without_a_checkpoint_is_new_until_one_is_written() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        assert mirror.empty("t")
        mirror.remember("t", _row("1"))
        assert not mirror.empty("t")
    with mirror.trusting("u", None):
        assert not mirror.empty("t")
    assert not mirror.empty("u")  # the lease is given back: anyone may write now


def test_early_writes_on_a_checkpoint_survive_a_write_on_its_child_landing_first() -> None:
    # durability="async": the checkpoint's row comes back late, after its step's writes
    # and a write on the next checkpoint were stored.
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _row("1"))
        mirror.wrote("t", "2", [_write("a", 0, b"on 2")], replace=False)
        mirror.wrote("t", "3", [_write("b", 0, b"on 3")], replace=False)
        mirror.remember("t", _row("2", parent="1"))
        assert _blobs(mirror.latest("t")) == [b"on 2"]
        mirror.remember("t", _row("3", parent="2"))
        assert _blobs(mirror.latest("t")) == [b"on 3"]


def _snapshot(checkpoint_id: str) -> dict[str, Any]:
    """A row storing the whole `messages` channel (a delta snapshot)."""
    row = _row(checkpoint_id)
    row["checkpoint"]["channel_values"] = {"messages": True}
    row["checkpoint"]["channel_versions"] = {"messages": "1"}
    row["channel_values"] = [[b"messages", b"msgpack", b"snapshot"]]
    return row


def test_a_late_write_on_an_ancestor_drops_the_history_it_would_change() -> None:
    mirror = Mirror()
    with mirror.trusting("t", None):
        mirror.remember("t", _snapshot("1"))
        mirror.remember("t", _row("2", parent="1"))
        assert mirror.history("t", "2", ["messages"]) is not None
        mirror.wrote("t", "1", [_write("a", 0, b"late")], replace=False)
        assert mirror.history("t", "2", ["messages"]) is None
        assert mirror.latest("t") is not None  # the row itself is unchanged


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _served(mirror: Mirror, thread_id: str) -> None:
    """A turn of `thread_id` that checked the mirror and wrote its checkpoint."""
    with mirror.trusting(thread_id, None):
        mirror.remember(thread_id, {**_row("c1"), "thread_id": thread_id})


def test_a_thread_idle_for_the_idle_time_is_forgotten() -> None:
    clock = Clock()
    mirror = Mirror(idle_seconds=60, clock=clock)
    _served(mirror, "old")
    clock.now = 61
    _served(mirror, "new")
    with mirror.trusting("old", "c1 0"):
        assert mirror.latest("old") is None
    with mirror.trusting("new", "c1 0"):
        assert mirror.latest("new") is not None


def test_new_conversations_one_after_another_keep_only_the_recent_ones() -> None:
    clock = Clock()
    mirror = Mirror(idle_seconds=60, clock=clock)
    for conversation in range(100):
        clock.now = conversation * 10.0
        _served(mirror, f"t{conversation}")
        assert mirror.remembered() <= 7  # those of the last 60 seconds (and this one)
