"""Turn order within a conversation: the lanes on their own, no socket, no database."""

from __future__ import annotations

import asyncio

import pytest

from threadline.chat.turns.lanes import Lanes

pytestmark = pytest.mark.anyio


async def test_places_come_up_one_at_a_time_in_order_of_arrival() -> None:
    lanes = Lanes()
    first, ahead_of_first = lanes.join("c")
    second, ahead_of_second = lanes.join("c")
    third, ahead_of_third = lanes.join("c")

    assert (ahead_of_first, ahead_of_second, ahead_of_third) == (0, 1, 2)
    assert first.granted
    assert not second.granted
    assert lanes.waiting("c") == 2
    first.leave()
    await asyncio.wait_for(second.wait(), 1)
    assert not third.granted
    second.leave()
    third.leave()
    assert not lanes.busy("c")


async def test_a_place_given_up_while_waiting_is_skipped() -> None:
    lanes = Lanes()
    first, _ = lanes.join("c")
    second, _ = lanes.join("c")
    third, _ = lanes.join("c")
    second.leave()
    second.leave()  # leaving twice is harmless

    assert lanes.waiting("c") == 1
    first.leave()
    assert third.granted
    assert not second.granted


async def test_conversations_have_lanes_of_their_own() -> None:
    lanes = Lanes()
    one, _ = lanes.join("a")
    other, ahead = lanes.join("b")

    assert one.granted
    assert other.granted
    assert ahead == 0
    one.leave()
    assert not lanes.busy("a")
    assert lanes.busy("b")


async def test_a_waiter_cancelled_keeps_its_place_until_it_leaves() -> None:
    lanes = Lanes()
    first, _ = lanes.join("c")
    second, _ = lanes.join("c")
    waiter = asyncio.create_task(second.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    second.leave()
    first.leave()

    assert not lanes.busy("c")
