"""Owners take turns: one owner's backlog never comes before another's next item."""

from __future__ import annotations

import anyio
import pytest

from threadline.knowledge.rotation import Owner, Rotation

pytestmark = pytest.mark.anyio


async def _drain(rotation: Rotation[str]) -> list[str]:
    """Items in the order one worker takes them."""
    taken = []
    while len(rotation):
        owner, item = await rotation.take()
        taken.append(item)
        rotation.done(owner, item)
    return taken


async def test_owners_take_turns_whatever_order_their_items_came_in() -> None:
    rotation: Rotation[str] = Rotation()
    for item in ("a1", "a2", "a3", "a4"):
        rotation.put("alice", item)
    rotation.put("bob", "b1")
    rotation.put(None, "shared1")
    rotation.put("bob", "b2")
    assert await _drain(rotation) == ["a1", "b1", "shared1", "a2", "b2", "a3", "a4"]


async def test_an_owner_has_one_item_out_at_a_time_and_others_are_not_held_back() -> None:
    rotation: Rotation[str] = Rotation()
    for item in ("a1", "a2"):
        rotation.put("alice", item)
    first = await rotation.take()
    assert first == ("alice", "a1")
    with anyio.move_on_after(0.05) as waiting:
        await rotation.take()  # a2 waits until a1 is done
    assert waiting.cancelled_caught
    rotation.put("bob", "b1")
    assert await rotation.take() == ("bob", "b1")
    rotation.done("alice", "a1")
    assert await rotation.take() == ("alice", "a2")


async def test_an_item_waiting_or_out_is_not_taken_twice() -> None:
    rotation: Rotation[str] = Rotation()
    owner: Owner = "alice"
    assert rotation.put(owner, "a1")
    assert not rotation.put(owner, "a1")
    taken = await rotation.take()
    assert not rotation.put(owner, "a1")  # being indexed: a reclaim must not queue it again
    rotation.done(*taken)
    assert rotation.put(owner, "a1")
    assert len(rotation) == 1
