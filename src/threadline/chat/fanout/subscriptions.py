"""A conversation's subscribers on this process, and what each has had of a turn's reply.

A subscription carries a reply only from its start, in order: a reply already running when
the socket subscribed is not carried (the socket asks `resume` for it). So what a
subscription brought of a reply is always its events 1 to some `seq`, and a resume or a
stop from the same socket picks up right after it: each `seq` reaches the socket once, in
order, whatever mix of subscribe, resume and stop it sends. Once the socket gets the reply
another way (as a listener of the turn, or a request's answer from another process), the
subscription hands it over and carries none of it any more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.chat.events import Event, Send

__all__ = ("Subscriptions",)


class _Carried:
    """What one subscription has brought of one turn's events."""

    __slots__ = ("handed", "seq", "turn")

    def __init__(self) -> None:
        self.turn: str | None = None  # the turn whose events it saw last
        # That reply's events 1..seq were carried (0: none yet); None: none of it is
        # carried (it was running when the socket subscribed).
        self.seq: int | None = 0
        self.handed = False  # the turn's events reach the socket another way: none here

    def takes(self, turn: str, seq: int | None) -> bool:
        """Whether an event of `turn` (numbered `seq`; None: about the turn) is carried."""
        if turn != self.turn:
            self.turn, self.seq, self.handed = turn, 0, False
        if self.handed:
            return False
        if seq is None:
            return True
        if self.seq is not None and seq == self.seq + 1:
            self.seq = seq
            return True
        self.seq = None
        return False

    def hand_over(self, turn: str) -> int:
        """The turn's events reach the socket another way now: the last `seq` brought."""
        had = self.seq if self.turn == turn and not self.handed and self.seq else 0
        self.turn, self.seq, self.handed = turn, None, True
        return had


class Subscriptions:
    """Per conversation, the sockets here subscribed to it and what each has had."""

    def __init__(self) -> None:
        self._by_conversation: dict[str, dict[Send, _Carried]] = {}

    def add(self, conversation_id: str, send: Send) -> None:
        """Subscribe `send` (again: no change)."""
        self._by_conversation.setdefault(conversation_id, {}).setdefault(send, _Carried())

    def remove(self, conversation_id: str, send: Send) -> None:
        """Unsubscribe `send` from the conversation."""
        subscribers = self._by_conversation.get(conversation_id, {})
        subscribers.pop(send, None)
        if not subscribers:
            self._by_conversation.pop(conversation_id, None)

    def forget(self, send: Send) -> None:
        """The socket closed: every subscription of it ends."""
        for conversation_id in list(self._by_conversation):
            self.remove(conversation_id, send)

    def carrying(self, conversation_id: str, send: Send) -> bool:
        """Whether the subscription has brought a reply from its start (so it goes on)."""
        carried = self._of(conversation_id, send)
        return carried is not None and not carried.handed and bool(carried.seq)

    def receivers(
        self, conversation_id: str, turn: str | None, event: Event, skip: set[Send]
    ) -> list[Send]:
        """The subscribers, but those in `skip`, that the event of `turn` goes to.

        `turn` None: a process that does not name its turns sent it (an older version);
        every subscriber gets it, as before.
        """
        subscribers = list(self._by_conversation.get(conversation_id, {}).items())
        if turn is None:
            return [send for send, _ in subscribers if send not in skip]
        seq = getattr(event, "seq", None)
        seq = seq if isinstance(seq, int) else None
        return [s for s, carried in subscribers if s not in skip and carried.takes(turn, seq)]

    def hand_over(self, conversation_id: str, send: Send, turn: str) -> int:
        """`send` gets `turn`'s events another way now (a listener of the turn, a request).

        Returns:
            The last `seq` of the reply its subscription brought (0: none, or not
            subscribed): the other way starts after it.
        """
        carried = self._of(conversation_id, send)
        return 0 if carried is None else carried.hand_over(turn)

    def brought(self, conversation_id: str, send: Send, turn: str | None, event: Event) -> bool:
        """Whether a request's answer, `event` of `turn`, reached `send` already.

        The answer to a resume or stop starts where the socket asked; what comes up to the
        event numbered as the last its subscription brought is dropped. From there on the
        answer brings the turn's events, and the subscription none.
        """
        carried = self._of(conversation_id, send)
        if carried is None or turn is None:
            return False
        seq = getattr(event, "seq", None)
        upto = carried.seq if carried.turn == turn and not carried.handed else None
        if upto and not (isinstance(seq, int) and seq > upto):
            if seq == upto:
                carried.hand_over(turn)
            return True
        carried.hand_over(turn)
        return False

    def _of(self, conversation_id: str, send: Send) -> _Carried | None:
        return self._by_conversation.get(conversation_id, {}).get(send)
