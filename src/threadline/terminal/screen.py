"""How the terminal client shows the server's frames: plain text, a line per event."""

from __future__ import annotations

import json
from typing import Any, TextIO

__all__ = ("Screen",)

PROMPT = "> "
_PREVIEW = 200  # characters of a tool's arguments or result shown


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


class Screen:
    """Writes replies as they stream, and notes in brackets on lines of their own."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._mid_line = False
        # What was shown of each reply, so a whole `message` after its tokens (or after a
        # reconnect and `resume`) adds only what is missing.
        self._shown: dict[str, str] = {}

    def prompt(self) -> None:
        """Show the prompt on a line of its own."""
        self._end_line()
        self._write(PROMPT)
        self._mid_line = True

    def typed(self) -> None:
        """The user ended a line: the cursor is at the start of the next."""
        self._mid_line = False

    def note(self, text: str) -> None:
        """A remark of the client's, such as a new conversation's id."""
        self._end_line()
        self._write(f"[{text}]\n")

    def text(self, text: str) -> None:
        """A text shown whole, on lines of its own (an export)."""
        self._end_line()
        self._write(text if text.endswith("\n") else text + "\n")

    def error(self, code: str, detail: str) -> None:
        """An error, from the server or the client."""
        self._end_line()
        self._write(f"error {code}: {detail}\n")

    def token(self, message_id: str, delta: str) -> None:
        """A piece of a reply, written where the last one ended."""
        if message_id not in self._shown:
            self._end_line()
            self._shown[message_id] = ""
        self._shown[message_id] += delta
        self._write(delta)
        self._mid_line = True

    def reply(self, frame: dict[str, Any]) -> None:
        """A whole reply: the part not streamed yet, then whether it stopped, its sources."""
        content: str = frame["content"]
        shown = self._shown.pop(frame["message_id"], None)
        if shown is not None and content.startswith(shown):
            self._write(content[len(shown) :])
        else:
            self._end_line()
            self._write(content)
        self._write("\n")
        self._mid_line = False
        if frame.get("stopped"):
            self.note("stopped")
        for number, citation in enumerate(frame.get("citations") or (), start=1):
            self.note(f"{number}: {citation['title']}")

    def tool_call(self, frame: dict[str, Any]) -> None:
        """The model asks for a tool."""
        self.note(f"tool {frame['name']} {_short(json.dumps(frame['args']))}")

    def tool_result(self, frame: dict[str, Any]) -> None:
        """A tool's result."""
        failed = " failed" if frame.get("is_error") else ""
        self.note(f"{frame['name']}{failed}: {_short(frame['content'])}")

    def waiting(self, frame: dict[str, Any]) -> None:
        """A tool call waits for the user's decision, or the graph asks a question."""
        if frame["type"] == "interrupt":
            value = frame["value"]
            asked = value if isinstance(value, str) else json.dumps(value)
            self.note(f"asks: {asked}")
            self.note("answer with /respond TEXT, or /cancel")
            return
        args = _short(json.dumps(frame["args"]))
        edit = " (or /approve ARGS to edit them)" if "edit" in frame.get("decisions", []) else ""
        self.note(f"{frame['name']} {args} waits for your approval: /approve or /deny{edit}")

    def history(self, frame: dict[str, Any]) -> None:
        """A page of stored messages, oldest first."""
        self._end_line()
        for item in frame["messages"]:
            role = item["role"]
            if role == "tool":
                self._write(f"  [{item.get('name', 'tool')}: {_short(item['content'])}]\n")
                continue
            stopped = " [stopped]" if item.get("stopped") else ""
            branch = item.get("branch")
            version = f" [{branch['index'] + 1}/{branch['count']}]" if branch else ""
            who = "you" if role == "user" else "assistant"
            self._write(f"{who}: {item['content']}{stopped}{version}\n")
        if not frame["messages"]:
            self.note("no messages yet")

    def conversations(self, items: list[dict[str, Any]]) -> None:
        """The user's conversations, newest first."""
        self._end_line()
        for item in items:
            title = item.get("title") or "(untitled)"
            count = item.get("message_count", 0)
            self._write(f"{item['conversation_id']}  {title}  ({count} messages)\n")
        if not items:
            self.note("no conversations yet")

    def _end_line(self) -> None:
        if self._mid_line:
            self._write("\n")
            self._mid_line = False

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()
