"""What a line typed at the terminal client's prompt asks for."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ("HELP", "Command", "Say", "parse")

# The commands, as `/help` lists them.
HELP = """\
/new              start a new conversation (your next message begins it)
/list             your conversations, newest first
/open ID          continue conversation ID (shows its latest messages)
/stop             stop the reply being written (also Ctrl-C)
/regenerate       a new reply to your last message (the last one stays as a version)
/edit TEXT        send TEXT in place of your last message (the old one stays as a version)
/branch N         show version N of the newest message that has versions ([2/3])
/history          the latest messages of this conversation
/export [F] [PATH]  this conversation as F (json, the default, or markdown) in file PATH,
                  or on the screen without PATH
/approve, /deny   answer a tool call that waits for your approval
/approve ARGS     approve it with these arguments (a JSON object), where edits are allowed
/respond TEXT     answer the question the assistant asks (JSON where it asks for more)
/cancel           drop what the assistant waits for: its reply ends as stopped
/quit             leave (also Ctrl-D)
//text            send a message that begins with "/"\
"""


class Say(NamedTuple):
    """A message for the assistant."""

    text: str


class Command(NamedTuple):
    """A slash command: its name in lower case, and what follows it."""

    name: str
    argument: str


def parse(line: str) -> Say | Command | None:
    """Read one typed line.

    Args:
        line: The line as typed, with or without its line break.

    Returns:
        A message, a command, or None for a blank line.
    """
    text = line.rstrip("\r\n")
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.startswith("//"):
        return Say(stripped[1:])
    if stripped.startswith("/"):
        name, _, argument = stripped[1:].partition(" ")
        return Command(name.lower(), argument.strip())
    return Say(text)
