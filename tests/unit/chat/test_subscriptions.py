"""What a subscription carries of a turn's frames, and what it hands over."""

from __future__ import annotations

from threadline.chat.events import Accepted, Context, Event, Token
from threadline.chat.fanout.subscriptions import Subscriptions

C = "conversation"


async def _socket(frame: Event) -> None:
    """A socket's send (never called: only who receives is asked)."""


def _token(seq: int) -> Token:
    return Token(C, "reply", f"piece {seq}", seq=seq)


def _context() -> Context:
    return Context(C, 10, 100, 2, 2, summarized=False)


def _carried(subscriptions: Subscriptions, turn: str | None, frames: list[Event]) -> list[Event]:
    return [f for f in frames if subscriptions.receivers(C, turn, f, set())]


def test_a_reply_is_carried_from_its_start_only() -> None:
    subscriptions = Subscriptions()
    subscriptions.add(C, _socket)

    joined_midway = _carried(subscriptions, "t1", [_token(4), _token(5), _context()])
    next_turn = _carried(subscriptions, "t2", [Accepted(C, "m2"), _token(1), _token(2)])

    assert joined_midway == [_context()]  # about the turn, not part of its reply
    assert next_turn == [Accepted(C, "m2"), _token(1), _token(2)]


def test_a_reply_handed_over_is_carried_no_further() -> None:
    subscriptions = Subscriptions()
    subscriptions.add(C, _socket)
    assert _carried(subscriptions, "t1", [_token(1), _token(2)]) == [_token(1), _token(2)]

    brought = subscriptions.hand_over(C, _socket, "t1")

    assert brought == 2
    assert _carried(subscriptions, "t1", [_token(3), _context()]) == []
    assert _carried(subscriptions, "t2", [_token(1)]) == [_token(1)]


def test_an_answer_from_another_process_skips_what_the_subscription_brought() -> None:
    subscriptions = Subscriptions()
    subscriptions.add(C, _socket)
    _carried(subscriptions, "t1", [Accepted(C, "m1"), _token(1), _token(2)])
    answer: list[Event] = [Accepted(C, "m1"), _token(1), _token(2), _token(3), _context()]

    delivered = [f for f in answer if not subscriptions.brought(C, _socket, "t1", f)]

    assert delivered == [_token(3), _context()]
    assert _carried(subscriptions, "t1", [_token(3), _context()]) == []  # the answer's now


def test_frames_of_a_process_that_names_no_turn_reach_every_subscriber() -> None:
    subscriptions = Subscriptions()
    subscriptions.add(C, _socket)

    assert _carried(subscriptions, None, [_token(4), _token(1)]) == [_token(4), _token(1)]
