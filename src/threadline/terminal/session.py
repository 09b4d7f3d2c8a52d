"""`threadline chat`: one person's chat in a terminal, over Threadline's WebSocket protocol."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from httpx_ws import (
    AsyncWebSocketSession,
    HTTPXWSException,
    aconnect_ws,
)

from threadline.terminal.branches import BRANCHING, Branches
from threadline.terminal.commands import HELP, Command, Say, parse
from threadline.terminal.connection import Target, innermost, why_final
from threadline.terminal.exporting import export
from threadline.terminal.keyboard import Keyboard
from threadline.terminal.outbox import Outbox
from threadline.terminal.screen import Screen
from threadline.terminal.waiting import ANSWERS, Waiting

__all__ = ("TerminalChat",)

# Errors that refuse a message outright: it was not stored and is not sent again.
_REFUSALS = frozenset(
    {
        "invalid_frame",
        "message_too_large",
        "conversation_not_found",
        "conversation_busy",
        "too_many_turns",
        "rate_limited",
        "quota_exceeded",
        "approval_pending",
    }
)
_FIRST_RETRY, _LAST_RETRY = 0.25, 5.0
_HISTORY_PAGE = 20
# Commands sent as frames about the current conversation.
_OF_A_CONVERSATION = frozenset({"stop", "regenerate", "history", "export", *ANSWERS, *BRANCHING})
# Commands whose answer arrives as frames, which bring the prompt back.
_ANSWERED = frozenset({"regenerate", "history", "open", *ANSWERS, *BRANCHING})


class TerminalChat:
    """Reads commands and messages, streams replies, and reconnects by itself."""

    def __init__(self, target: Target, screen: Screen, conversation_id: str | None) -> None:
        self._target = target
        self._screen = screen
        self._conversation = conversation_id
        self._outbox = Outbox()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._ws: AsyncWebSocketSession | None = None
        self._following = False  # a reply is being streamed: `resume` it after a drop
        self._idle = asyncio.Event()  # cleared while a message or command waits for its reply
        self._idle.set()
        self._seq = 0  # of the reply being streamed: where `resume` picks up
        self._waiting = Waiting()  # tool calls and questions the run waits on
        self._branches = Branches()  # what /edit and /branch act on
        self._exit_code = 0
        self._connections = 0

    async def run(self) -> int:
        """Chat until `/quit`, the end of input, or a refusal; returns the exit code."""
        keyboard = Keyboard(self._lines, self._interrupt)
        keyboard.start()
        connection = asyncio.create_task(self._stay_connected())
        try:
            await self._read_commands(connection)
        finally:
            keyboard.stop()
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connection
        return self._exit_code

    async def _read_commands(self, connection: asyncio.Task[None]) -> None:
        while True:
            line = asyncio.create_task(self._lines.get())
            await asyncio.wait({line, connection}, return_when=asyncio.FIRST_COMPLETED)
            if not line.done():  # the connection gave up: nothing more can be done
                line.cancel()
                return
            text = line.result()
            self._screen.typed()
            if text is None:  # input ended (Ctrl-D, or a script's last line): finish replies
                idle = asyncio.create_task(self._idle.wait())
                await asyncio.wait({idle, connection}, return_when=asyncio.FIRST_COMPLETED)
                idle.cancel()
                return
            if not await self._obey(text):
                return

    async def _obey(self, line: str) -> bool:
        """Carry out one typed line; False when it asks to leave."""
        match parse(line):
            case None:
                self._screen.prompt()
            case Say(text):
                self._outbox.add(text, self._conversation)
                self._busy()
                await self._flush()
            case Command("quit" | "exit"):
                return False
            case Command(name, argument):
                await self._command(name, argument)
        return True

    async def _command(self, name: str, argument: str) -> None:
        conversation = self._conversation
        if name == "help":
            self._screen.note(HELP)
        elif name == "new":
            self._conversation = None
            self._branches.reset()
            self._screen.note("new conversation: your next message starts it")
        elif name == "list":
            await self._list()
        elif name == "open" and argument:
            self._conversation = argument
            self._branches.reset()
            await self._send({"type": "history", "conversation_id": argument})
        elif name == "export" and conversation:
            await export(self._target, self._screen, conversation, argument)
        elif name in _OF_A_CONVERSATION and conversation:
            await self._conversation_command(name, argument, conversation)
        elif name in _OF_A_CONVERSATION:
            self._screen.note("no conversation yet: send a message first, or /open ID")
        else:
            self._screen.note(f"unknown command /{name} {argument}".strip() + "; /help lists them")
        if name not in _ANSWERED or self._ws is None:
            self._screen.prompt()

    async def _conversation_command(self, name: str, argument: str, conversation: str) -> None:
        frame: dict[str, Any] = {"type": name, "conversation_id": conversation}
        if name == "history":
            frame["limit"] = _HISTORY_PAGE
        if name in ANSWERS or name in BRANCHING:
            answer = (
                self._branches.frame(name, argument, conversation)
                if name in BRANCHING
                else self._waiting.answer(name, argument, conversation)
            )
            if isinstance(answer, str):  # nothing to answer: why, and the prompt again
                self._screen.note(answer)
                self._screen.prompt()
                return
            frame = answer
        if name in {"regenerate", "edit"} or name in ANSWERS:
            self._busy()
            self._following = name in ANSWERS  # a regenerate's or edit's reply starts with an ack
        await self._send(frame)

    async def _list(self) -> None:
        url = f"{self._target.http_url}/users/{quote(self._target.user, safe='')}/conversations"
        try:
            async with httpx.AsyncClient(headers=self._target.headers) as http:
                response = await http.get(url, params={"limit": _HISTORY_PAGE})
        except httpx.HTTPError as error:
            self._screen.error("unreachable", str(error) or type(error).__name__)
            return
        body = msgspec.json.decode(response.content)
        if response.is_success:
            self._screen.conversations(body["items"])
        else:
            self._screen.error(body.get("code", str(response.status_code)), body.get("detail", ""))

    def _interrupt(self) -> None:
        """Ctrl-C: stops the reply being written; at the prompt, says how to leave."""
        if self._replying and self._conversation and self._ws is not None:
            asyncio.get_running_loop().create_task(
                self._send({"type": "stop", "conversation_id": self._conversation})
            )
        else:
            self._screen.note("Ctrl-D or /quit to leave")
            self._screen.prompt()

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._ws is None:
            self._screen.note("not connected: try again in a moment")
            return
        with contextlib.suppress(HTTPXWSException, OSError):
            await self._ws.send_text(msgspec.json.encode(frame).decode())

    async def _flush(self) -> None:
        """Send the messages not yet sent; a dropped socket leaves them for the next one."""
        if self._ws is None:
            return
        for frame in self._outbox.ready():
            await self._send(frame)

    async def _stay_connected(self) -> None:
        """Connect, and after a drop connect again, resuming where the reply was."""
        delay = _FIRST_RETRY
        while True:
            connections = self._connections
            error = await self._connection()
            if self._connections > connections:
                delay = _FIRST_RETRY  # it was up: a new drop starts the waits over
            if (final := why_final(error, self._target, self._connections)) is not None:
                self._give_up(*final)
                return
            self._screen.note(f"disconnected; reconnecting in {delay:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LAST_RETRY)

    async def _connection(self) -> BaseException | None:
        """Serve one connection until it ends; returns the error that ended it."""
        url = f"{self._target.url}/ws/{quote(self._target.user, safe='')}"
        try:
            async with (
                httpx.AsyncClient() as http,
                aconnect_ws(
                    url, http, session_class=AsyncWebSocketSession, headers=self._target.headers
                ) as ws,
            ):
                self._connections += 1
                await self._serve(ws)
        except (BaseExceptionGroup, OSError, httpx.HTTPError, HTTPXWSException) as error:
            return innermost(error)
        finally:
            self._ws = None
            self._outbox.unsent_all()
        return None

    def _give_up(self, code: int, reason: str) -> None:
        self._exit_code = code
        self._screen.error("disconnected", reason)

    async def _serve(self, ws: AsyncWebSocketSession) -> None:
        """One connection: catch up on what was missed, then show frames as they come."""
        self._ws = ws
        self._screen.note(f"connected to {self._target.url} as {self._target.user}; /help")
        if self._following and self._conversation:
            await self._send(
                {"type": "resume", "conversation_id": self._conversation, "after_seq": self._seq}
            )
        await self._flush()
        if self._connections == 1 and self._conversation and not self._replying:
            # Started with --conversation: where it stands (the history brings the prompt).
            frame = {"type": "history", "conversation_id": self._conversation}
            await self._send({**frame, "limit": _HISTORY_PAGE})
        elif not self._replying:
            self._screen.prompt()
        while True:
            self._show(msgspec.json.decode(await ws.receive_text()))

    def _show(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if "seq" in frame:
            self._seq = frame["seq"]
        if kind == "ack":
            self._acknowledged(frame)
        elif kind == "queued":
            self._screen.note(f"queued behind {frame['position']} reply(s)")
        elif kind == "token":
            self._screen.token(frame["message_id"], frame["delta"])
        elif kind == "tool_call":
            self._screen.tool_call(frame)
        elif kind == "tool_result":
            self._screen.tool_result(frame)
        elif kind in {"approval_required", "interrupt"}:
            self._waiting.asked(frame)
            self._screen.waiting(frame)
            self._turn_over()
        elif kind == "message":
            self._screen.reply(frame)
            self._turn_over()
        elif kind == "history":
            self._screen.history(frame)
            self._branches.listed(frame)
            self._waiting.reset(frame.get("pending_interrupts", []))
            for pending in frame.get("pending_interrupts", []):
                self._screen.waiting(pending)
            self._screen.prompt()
        elif kind == "error":
            self._failed(frame)

    def _acknowledged(self, frame: dict[str, Any]) -> None:
        conversation = frame["conversation_id"]
        self._outbox.stored(frame.get("client_message_id"), conversation)
        self._branches.acked(frame)
        if self._conversation != conversation:
            self._conversation = conversation
            self._screen.note(f"conversation {conversation}")
        self._busy()
        self._following, self._seq = True, 0
        # A message held back until its conversation existed can go now.
        asyncio.get_running_loop().create_task(self._flush())

    def _failed(self, frame: dict[str, Any]) -> None:
        code = frame["code"]
        if code in _REFUSALS:
            self._outbox.refused()
        self._screen.error(code, frame.get("detail", ""))
        if code == "shutting_down":
            return  # the socket closes; the message is sent again after reconnecting
        self._turn_over()

    def _turn_over(self) -> None:
        self._following, self._seq = False, 0
        if len(self._outbox):
            return  # more messages wait for their replies
        self._idle.set()
        self._screen.prompt()

    def _busy(self) -> None:
        self._idle.clear()

    @property
    def _replying(self) -> bool:
        return not self._idle.is_set()
