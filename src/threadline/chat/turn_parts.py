"""What a turn is given: the services it works with, how it sends, a user's decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from threadline.chat.activity import Activity
from threadline.chat.events import Send
from threadline.chat.limits import UserLimits
from threadline.chat.relay import Relay
from threadline.conversations.index import ConversationIndex
from threadline.engine.runner import TurnRunner
from threadline.storage.leases import ConversationLocks

__all__ = ("Decision", "Send", "TurnServices")


class Decision(NamedTuple):
    """The user's answer to a tool call waiting for approval."""

    tool_call_id: str
    approved: bool


@dataclass(frozen=True, slots=True)
class TurnServices:
    """What every turn works with, built once by the chat service."""

    index: ConversationIndex
    runner: TurnRunner
    leases: ConversationLocks
    activity: Activity
    relay: Relay
    wait_for_lease: bool
    limits: UserLimits | None = None
