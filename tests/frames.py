"""A turn's frames read as the foreign graphs' tests compare them (tests/e2e/test_foreign_*)."""

from __future__ import annotations

from typing import Any

from tests.wsclient import ChatClient, Frame


async def say(
    chat: ChatClient, message: str, conversation_id: str | None = None, **extra: Any
) -> list[Frame]:
    """Every frame of one turn, up to its reply, its error or what it waits for."""
    frame: Frame = {"message": message, **extra}
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    await chat.send(**frame)
    waits = ("interrupt", "approval_required")
    return await chat.until_any("message", "error", *waits, within=30)


def kinds(frames: list[Frame]) -> list[str]:
    """The frames' types, but for tokens."""
    return [f["type"] for f in frames if f["type"] != "token"]


def called(frames: list[Frame]) -> list[str]:
    """The tools called, in order."""
    return [f["name"] for f in frames if f["type"] == "tool_call"]


def streamed(frames: list[Frame], agent: str | None = None) -> str:
    """What `agent` (None: the graph itself) streamed, joined."""
    return "".join(f["delta"] for f in frames if f["type"] == "token" and f.get("agent") == agent)


def agents(frames: list[Frame]) -> list[str | None]:
    """The agents whose tokens streamed, in the order they first spoke."""
    return list(dict.fromkeys(f.get("agent") for f in frames if f["type"] == "token"))


def roles(history: list[Frame]) -> list[str]:
    """The roles of a history's messages, in order."""
    return [m["role"] for m in history]
