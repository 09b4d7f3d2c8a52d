"""What a turn is given: the services it works with, how it sends, a user's decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from threadline.chat.events import Send
from threadline.chat.fanout.relay import Relay
from threadline.chat.turns.activity import Activity
from threadline.chat.turns.limits import UserLimits
from threadline.conversations.index import ConversationIndex
from threadline.engine.assistants import RunOptions
from threadline.engine.runner import TurnRunner
from threadline.storage.leases import ConversationLocks

__all__ = ("Answer", "Cancel", "Decision", "Response", "Send", "TurnEngine", "TurnServices")


class Decision(NamedTuple):
    """The user's answer to a tool call waiting for approval (`args`: approved, edited)."""

    tool_call_id: str
    approved: bool
    args: dict[str, Any] | None = None


class Response(NamedTuple):
    """The user's answer to an interrupt: any JSON value, for the graph to resume with."""

    interrupt_id: str
    value: Any


class Cancel(NamedTuple):
    """Drop what the paused run waits for (if given, `interrupt_id` must be among it)."""

    interrupt_id: str | None


# What a turn that resumes a paused run (rather than adding a message) carries.
Answer = Decision | Response | Cancel


class TurnEngine(NamedTuple):
    """What runs a turn: its conversation's assistant's runner, and the run's options."""

    runner: TurnRunner
    options: RunOptions = RunOptions()


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
