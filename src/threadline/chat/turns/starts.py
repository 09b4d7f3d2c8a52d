"""A turn built from what a request asks, admitted past the limits, and started in its lane.

The chat service checks a request (ownership, its conversation's choice); this builds its
turn: admitted with a stake of the user's quota (an answer to a paused run is not: its
model calls reserve as they are made), then started by the roster, which orders it in its
conversation's lane. A stake is given back if the turn never starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import ToolMessage

from threadline.chat.turns.attachments import Attachments
from threadline.chat.turns.branches import Fork
from threadline.chat.turns.quota import Stake, given_back_unless_started
from threadline.chat.turns.roster import Roster
from threadline.chat.turns.turn import Turn
from threadline.chat.turns.turn_parts import Answer, Send, TurnEngine, TurnServices
from threadline.conversations.index import new_id

__all__ = ("Asked", "TurnStarts")


@dataclass(frozen=True, slots=True, kw_only=True)
class Asked:
    """What a request asks its turn to do: a message, an answer, results, a fork."""

    text: str | None = None
    client_id: str | None = None
    decision: Answer | None = None
    attachments: Attachments | None = None
    results: Sequence[ToolMessage] | None = None
    client_tools: Sequence[dict[str, Any]] = ()
    fork: Fork | None = None
    # The reply's id when the request fixes it (a regenerate resent: derived from its id).
    reply_id: str | None = None


class TurnStarts:
    """Builds each turn with the services every turn shares, and starts it."""

    def __init__(self, crew: TurnServices, roster: Roster) -> None:
        self.crew = crew
        self.roster = roster

    async def admitted(
        self, user_id: str, conversation_id: str, send: Send, engine: TurnEngine, asked: Asked
    ) -> Turn:
        """Admit the turn (limits, then a stake of the quota) and start it.

        Raises:
            TooManyTurns, ConversationBusy, RateLimited, QuotaExceeded: Past a limit.
        """
        stake = await self.roster.admit(user_id, asked.text)
        with given_back_unless_started(stake):
            turn = self.turn(user_id, conversation_id, send, engine, asked, stake)
            await self.roster.start(turn)
        return turn

    async def answered(
        self, user_id: str, conversation_id: str, send: Send, engine: TurnEngine, asked: Asked
    ) -> Turn:
        """Start the turn that answers a paused run: not admitted, its model calls reserve."""
        turn = self.turn(user_id, conversation_id, send, engine, asked)
        await self.roster.start(turn)
        return turn

    def turn(  # noqa: PLR0913, PLR0917 - the turn's facts, each named
        self,
        user_id: str,
        conversation_id: str,
        send: Send,
        engine: TurnEngine,
        asked: Asked,
        stake: Stake | None = None,
    ) -> Turn:
        """The turn of a request (not started)."""
        limits, results, text = self.crew.limits, asked.results, asked.text
        message_id = new_id() if text is not None else ((results[0].id or "") if results else "")
        turn = Turn(
            self.crew,
            user_id,
            conversation_id,
            text,
            message_id=message_id,
            reply_id=asked.reply_id or new_id(),
            client_message_id=asked.client_id,
            origin=send,
            decision=asked.decision,
            # An approval's turn was not admitted: its model calls reserve as they are made.
            stake=stake or (limits.stake(user_id) if limits is not None else None),
            engine=engine,
            attachments=asked.attachments,
            results=results,
            client_tools=asked.client_tools,
            fork=asked.fork,
        )
        if asked.fork is not None and asked.fork.resent is not None:
            # An edit resent: its ack names the stored message.
            turn.message_id = asked.fork.resent.stored.id or turn.message_id
        return turn
