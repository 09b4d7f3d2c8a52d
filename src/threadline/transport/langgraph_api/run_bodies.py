"""The bodies of the LangGraph API's runs, and what Threadline reads of them.

A run's `input` is one human message (as LangChain's clients send it: a string, or a dict
of `type`/`role` `human`/`user` whose `content` is a string or text blocks); its `id` is
Threadline's client message id, so a message sent again is stored once. `command.resume`
answers what the thread waits for.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NoReturn

import msgspec
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from threadline.conversations.index import Choice
from threadline.transport.langgraph_api.stream_modes import StreamMode
from threadline.transport.rest import ApiError

__all__ = ("RunCommand", "RunConfig", "RunCreate", "human_message")

_HUMAN = {"human", "user"}
_ID_CHARS = 128


class RunCommand(msgspec.Struct, kw_only=True):
    """`command`: `resume` answers an interrupt (`goto` and `update` are not served)."""

    resume: Any = msgspec.UNSET
    goto: Any = None
    update: Any = None


class RunConfig(msgspec.Struct, kw_only=True):
    """`config`: only `configurable` is read (as the WebSocket's first message's)."""

    configurable: dict[str, Any] | None = None
    tags: list[str] | None = None
    recursion_limit: int | None = None


class RunCreate(msgspec.Struct, kw_only=True):
    """A run's body, as the LangGraph SDKs send it (`runs.stream`, `create`, `wait`)."""

    assistant_id: Annotated[str, msgspec.Meta(min_length=1, max_length=_ID_CHARS)] | None = None
    input: dict[str, Any] | None = None
    command: RunCommand | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    multitask_strategy: Literal["reject", "enqueue", "interrupt", "rollback"] = "enqueue"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_completion: Literal["delete", "keep"] | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    webhook: str | None = None
    after_seconds: float | None = None

    @property
    def modes(self) -> list[StreamMode]:
        """The stream modes asked for."""
        return [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode

    @property
    def chosen(self) -> Choice | None:
        """What the run asks of its thread: its assistant, `context` and `configurable`."""
        configurable = self.config.configurable if self.config else None
        if self.assistant_id is None and self.context is None and not configurable:
            return None
        return Choice(
            assistant_id=self.assistant_id, context=self.context, configurable=configurable or None
        )

    def refuse_unserved(self) -> None:
        """Refuse what this server does not do rather than ignore it.

        Raises:
            ApiError: 422 naming the field.
        """
        unserved = {
            "interrupt_before": self.interrupt_before,
            "interrupt_after": self.interrupt_after,
            "webhook": self.webhook,
            "after_seconds": self.after_seconds,
        }
        if self.command is not None:
            unserved |= {"command.goto": self.command.goto, "command.update": self.command.update}
        for field, value in unserved.items():
            if value:
                _refuse(field, f"{field}: not supported by this server")
        if "events" in self.modes:
            _refuse("stream_mode", "stream_mode: events is not supported by this server")
        if self.message is not None and self.command is not None:
            _refuse("command", "a run takes `input` or `command`, not both")
        resumes = self.command is not None and self.command.resume is not msgspec.UNSET
        if self.message is None and not resumes and self.from_checkpoint is None:
            _refuse("input", "input: a run needs a message (or a command that resumes)")

    @property
    def message(self) -> dict[str, Any] | None:
        """The `input` that carries the run's message; None for none or an empty one.

        An empty input is none: useStream sends `input: {}` beside a command.
        """
        return self.input or None

    @property
    def from_checkpoint(self) -> str | None:
        """The earlier checkpoint the run starts from (`checkpoint_id`, or `checkpoint`'s)."""
        named = self.checkpoint.get("checkpoint_id") if self.checkpoint else None
        found = self.checkpoint_id or named
        if found is not None and not (isinstance(found, str) and 0 < len(found) <= _ID_CHARS):
            _refuse("checkpoint", "checkpoint: checkpoint_id is a string of 1-128 characters")
        return found


def _refuse(field: str, detail: str) -> NoReturn:
    raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail, field)


def human_message(run_input: dict[str, Any]) -> tuple[str, str | None]:
    """The text and client id of the one human message of a run's `input`.

    Raises:
        ApiError: Not exactly one human message of text (422).
    """
    messages = run_input.get("messages")
    if messages == []:
        _refuse("input.messages", "input.messages is empty: a run takes one human message")
    if isinstance(messages, list):
        # Answers a client makes up for calls it sees unanswered (agent-chat-ui does) are
        # not kept: Threadline answers every call the model makes itself.
        messages = [m for m in messages if not (isinstance(m, dict) and _is_tool(m))]
    if not isinstance(messages, list) or len(messages) != 1:
        _refuse("input.messages", "input.messages: one human message a run")
    message = messages[0]
    if isinstance(message, str):
        return _checked(message), None
    if not isinstance(message, dict):
        _refuse("input.messages", "input.messages: a message is a string or an object")
    kind = message.get("type", message.get("role"))
    if kind not in _HUMAN:
        _refuse("input.messages", "input.messages: the message must be a human (user) message")
    message_id = message.get("id")
    if message_id is not None and (
        not isinstance(message_id, str) or not 0 < len(message_id) <= _ID_CHARS
    ):
        _refuse("input.messages", "input.messages: a message id is a string of 1-128 characters")
    return _checked(_text(message.get("content"))), message_id or None


def _is_tool(message: dict[str, Any]) -> bool:
    return message.get("type", message.get("role")) == "tool"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        for b in content
    ):
        return "".join(b["text"] for b in content)
    _refuse("input.messages", "input.messages: content is text, or a list of text blocks")


def _checked(text: str) -> str:
    if not text.strip():
        _refuse("input.messages", "input.messages: the message must not be empty")
    if "\x00" in text:
        _refuse("input.messages", "input.messages: the message must not contain NUL characters")
    return text
