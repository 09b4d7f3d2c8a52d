"""What a server remembers of who owns a conversation: only that user, and a bounded amount."""

from __future__ import annotations

from threadline.chat.owners import RecentOwners


def test_a_pair_is_known_only_for_its_user() -> None:
    owners = RecentOwners()
    owners.remember("alice", "c1")

    assert owners.knows("alice", "c1")
    assert not owners.knows("bob", "c1")
    assert not owners.knows("alice", "c2")


def test_the_least_recently_used_pair_is_forgotten_first() -> None:
    owners = RecentOwners(size=2)
    owners.remember("alice", "c1")
    owners.remember("alice", "c2")
    assert owners.knows("alice", "c1")  # now the most recent
    owners.remember("alice", "c3")

    assert owners.knows("alice", "c1")
    assert not owners.knows("alice", "c2")
    assert owners.knows("alice", "c3")


def test_forget_and_clear_drop_pairs() -> None:
    owners = RecentOwners()
    owners.remember("alice", "c1")
    owners.remember("bob", "c2")
    owners.forget("alice", "c1")

    assert not owners.knows("alice", "c1")
    assert owners.knows("bob", "c2")
    owners.clear()
    assert not owners.knows("bob", "c2")
