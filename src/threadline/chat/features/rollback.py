"""Rolling a stopped reply back: the LangGraph API's `rollback` (a cancel, a second run).

What a stopped turn left (its partial reply and the tool steps before it) is removed from
the thread, under the lease; the user's message stays. A reply that was not stopped (its
run ended on its own meanwhile) is kept: only what was cut short is ever rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from threadline.chat.turns.amending import amending
from threadline.chat.turns.turn_parts import TurnServices
from threadline.engine.messages import STOPPED
from threadline.engine.runner import TurnRunner

__all__ = ("roll_back",)


async def roll_back(
    crew: TurnServices, runner: TurnRunner, user_id: str, conversation_id: str, reply_id: str
) -> bool:
    """Remove the stopped reply `reply_id` and its turn's steps; whether anything went.

    Raises:
        ConversationNotFound: Not a conversation of this user (or deleted meanwhile).
    """
    config: RunnableConfig = {"configurable": {"thread_id": conversation_id}}
    async with amending(crew.leases, crew.activity, user_id, conversation_id) as amendment:
        snapshot = await runner.graph.aget_state(config)
        messages = runner.messages(snapshot.values)
        removed = _stopped_turn(messages, reply_id)
        if removed:
            await runner.discard(conversation_id, removed, reply_id)
            await amendment.record([m for m in messages if m.id not in removed])
    return bool(removed)


def _stopped_turn(messages: Sequence[AnyMessage], reply_id: str) -> list[str]:
    """The ids of the stopped reply and the steps after the user's message before it."""
    last = messages[-1] if messages else None
    if not isinstance(last, AIMessage) or last.id != reply_id:
        return []
    if not last.response_metadata.get(STOPPED):
        return []
    asked = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    return [m.id for m in messages[asked + 1 :] if m.id]
