"""What the conversation's run waits for, and the frames that answer it.

The server announces each thing it waits for (`approval_required` for a tool call,
`interrupt` for a graph's question) and lists them again in `history`; `/approve`,
`/deny`, `/respond` and `/cancel` become the frames that answer them.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ("ANSWERS", "Waiting")

# The commands that answer what the run waits for.
ANSWERS = frozenset({"approve", "deny", "respond", "cancel"})


class Waiting:
    """The tool calls and questions of the open conversation still unanswered, in order."""

    def __init__(self) -> None:
        self._approvals: dict[str, dict[str, Any]] = {}  # tool_call_id -> its frame
        self._questions: dict[str, dict[str, Any]] = {}  # interrupt_id -> its frame

    def asked(self, frame: dict[str, Any]) -> None:
        """An `approval_required` or `interrupt` frame: one more thing to answer."""
        if frame["type"] == "interrupt":
            self._questions[frame["interrupt_id"]] = frame
        else:
            self._approvals[frame["tool_call_id"]] = frame

    def reset(self, pending: list[dict[str, Any]]) -> None:
        """What a `history` frame says waits now (also after a reconnect or `/open`)."""
        self._approvals.clear()
        self._questions.clear()
        for frame in pending:
            self.asked(frame)

    def answer(self, name: str, argument: str, conversation_id: str) -> dict[str, Any] | str:
        """The frame for `/approve [ARGS]`, `/deny`, `/respond TEXT` or `/cancel`.

        Returns:
            The frame to send, or why there is none (a note for the user).
        """
        if name == "cancel":
            found = self._cancel()
        elif name == "respond":
            found = self._respond(argument)
        else:
            found = self._decide(name, argument)
        return found if isinstance(found, str) else {**found, "conversation_id": conversation_id}

    def _cancel(self) -> dict[str, Any] | str:
        if not self._approvals and not self._questions:
            return "nothing waits for your answer"
        self.reset([])
        return {"type": "cancel_interrupt"}

    def _respond(self, text: str) -> dict[str, Any] | str:
        if not self._questions:
            return "no question waits for your answer"
        if not text:
            return "type your answer after /respond"
        interrupt_id, asked = next(iter(self._questions.items()))
        del self._questions[interrupt_id]
        value = _answer_of(text, asked["value"])
        return {"type": "respond", "interrupt_id": interrupt_id, "value": value}

    def _decide(self, name: str, argument: str) -> dict[str, Any] | str:
        if not self._approvals:
            return "no tool call waits for your approval"
        frame: dict[str, Any] = {"type": name}
        if name == "approve" and argument:  # an edit: the call runs with these arguments
            args = _answer_of(argument, None)
            if not isinstance(args, dict):
                return 'new arguments are a JSON object: /approve {"name": "value"}'
            frame["args"] = args
        frame["tool_call_id"] = next(iter(self._approvals))
        del self._approvals[frame["tool_call_id"]]
        return frame


def _answer_of(text: str, asked: Any) -> Any:
    """Text to a question asked in words; else JSON if the text is JSON."""
    if isinstance(asked, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
