"""Rolling a stopped reply back: the LangGraph API's `rollback` (a cancel, a second run).

What a stopped turn left (its partial reply and the tool steps before it) is removed from
the thread, under the lease; the user's message stays. A reply that was not stopped (its
run ended on its own meanwhile) is kept: only what was cut short is ever rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from threadline.chat.errors import ConversationNotFound
from threadline.chat.turns.turn_parts import TurnServices
from threadline.engine.messages import STOPPED
from threadline.engine.runner import TurnRunner
from threadline.storage.leases import NotAllowed

__all__ = ("roll_back",)


async def roll_back(
    crew: TurnServices, runner: TurnRunner, user_id: str, conversation_id: str, reply_id: str
) -> bool:
    """Remove the stopped reply `reply_id` and its turn's steps; whether anything went.

    Raises:
        ConversationNotFound: Not a conversation of this user (or deleted meanwhile).
    """
    config: RunnableConfig = {"configurable": {"thread_id": conversation_id}}
    try:
        async with crew.leases.hold(conversation_id, user_id=user_id) as lease:
            snapshot = await runner.graph.aget_state(config)
            messages = runner.messages(snapshot.values)
            removed = _stopped_turn(messages, reply_id)
            if removed:
                await runner.discard(conversation_id, removed, reply_id)
                kept = [m for m in messages if m.id not in removed]
                told = await crew.activity.record(
                    user_id, conversation_id, kept, new_message=False, lease=lease
                )
                if told is not None:
                    await crew.activity.tell(user_id, told)
    except NotAllowed:
        raise ConversationNotFound from None
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
