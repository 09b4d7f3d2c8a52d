"""One run of the LangGraph API: a Threadline turn, told in the stream modes asked for.

A run starts a turn through the chat service, as a WebSocket message does (a new message,
or the answer to what the thread waits for), with an `EventStream` as its `Send`; each of
the turn's events is told in the stream modes asked for (`stream_modes.RunStream`), and
the state at the start and end is read from the checkpoint. The run's id is the turn's
(`reply_id`: the reply is stored under it). Nothing is answered before the run's input is
stored: a refusal before that is an HTTP error, anything after it an `error` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import msgspec
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from threadline.chat.errors import ConversationNotFound, NothingToStop
from threadline.chat.events import Accepted, Event, Failed, Queued, Replied
from threadline.chat.langgraph_api.threads import Threads
from threadline.chat.turns.failures import failed
from threadline.chat.turns.turn import Turn
from threadline.chat.turns.turn_parts import Response as Answer
from threadline.conversations.index import Choice
from threadline.transport.event_stream import EventStream
from threadline.transport.langgraph_api.run_bodies import RunCreate, human_message
from threadline.transport.langgraph_api.stream_modes import RunStream, SseEvent, ends_run
from threadline.transport.rest import ApiError
from threadline.transport.services import Services

__all__ = ("Run", "stop_run", "threads_of")


def _message(sse: SseEvent) -> ServerSentEventMessage:
    data = msgspec.json.encode(sse.data).decode()
    return ServerSentEventMessage(data=data, event=sse.event, id=sse.id)


def threads_of(services: Services) -> Threads:
    """The chat service's threads (the LangGraph API's view of conversations)."""
    threads = services.chat.threads
    assert threads is not None  # noqa: S101 - wired whenever the app is
    return threads


class Run:
    """One run being streamed: its turn, its stream, and how it is told."""

    def __init__(
        self,
        services: Services,
        user: str,
        thread_id: str,
        body: RunCreate,
        *,
        temporary: bool = False,
    ) -> None:
        """A run of `user`'s thread; a `temporary` one (a stateless run's) is deleted after."""
        self.services = services
        self.temporary = temporary
        self.user = user
        self.thread_id = thread_id
        self.body = body
        self.stream = EventStream()
        self.turn: Turn | None = None
        self.run_id = ""  # the turn's id, once started (or the one joined)
        self.told: RunStream | None = None
        self._ended = False
        self._joined = False  # rejoined after an event id: no metadata, no start again

    async def start(self) -> Turn:
        """Start the turn: a new message, or the answer to what the thread waits for."""
        chat, body = self.services.chat, self.body
        await self._make_way()
        if body.message is not None:
            text, client_id = human_message(body.message)
            _check_size(text, self.services.settings.max_message_bytes)
            chosen = self._chosen()
            if chosen is not None:
                await chat.conversations.choose(self.user, self.thread_id, chosen)
            if (checkpoint_id := body.from_checkpoint) is not None:  # an edit: a new branch
                turn = await chat.fork(self.user, self.thread_id, checkpoint_id, text, self.stream)
            else:
                send = chat.send_message
                turn = await send(self.user, text, self.thread_id, client_id, self.stream)
        elif body.command is not None:
            answer = await self._answer(body.command.resume, body.from_checkpoint)
            turn = await chat.decide(self.user, self.thread_id, answer, self.stream)
        else:  # from a checkpoint, with no input: a regenerate (refuse_unserved saw to it)
            checkpoint_id = body.from_checkpoint or ""
            await self._check_regenerable(checkpoint_id)
            turn = await chat.regenerate(self.user, self.thread_id, self.stream)
        self.turn, self.run_id = turn, turn.reply_id
        return turn

    async def join(self, run_id: str, after_seq: int | None) -> None:
        """Follow the thread's running turn (on any process) from after `after_seq`.

        With no turn running, the stream gets the thread's latest reply, whole.
        """
        self.run_id = run_id
        if after_seq is not None:
            self._joined = True
        await self.services.chat.watching.resume(
            self.user, self.thread_id, after_seq or 0, self.stream
        )

    def _chosen(self) -> Choice | None:
        """What the run asks of its thread, its assistant named by its graph's name."""
        chosen, named = self.body.chosen, self.body.assistant_id
        if chosen is None or named is None:
            return chosen
        served = self.services.chat.assistants.find(named)
        if served is None:
            detail = f"Assistant {named} not found"
            raise ApiError(HTTP_404_NOT_FOUND, "unknown_assistant", detail)
        return msgspec.structs.replace(chosen, assistant_id=served.name)

    async def _answer(self, resume: Any, checkpoint_id: str | None) -> Answer:
        """`command.resume` as the answer to the one interrupt the thread waits on.

        A checkpoint named beside it must be the one the thread waits at (useStream names
        the thread's head): a resume goes on from there.
        """
        state = await threads_of(self.services).state(self.user, self.thread_id, None)
        if checkpoint_id is not None and checkpoint_id != state.checkpoint.checkpoint_id:
            detail = "checkpoint: a resume goes on from where the thread waits, its latest"
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail, "checkpoint")
        waiting = state.interrupts
        ids = {i.id for i in waiting}
        if isinstance(resume, dict) and resume and set(resume) <= ids:
            if len(resume) > 1:
                detail = "command.resume: answer one interrupt a run"
                raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail, "command")
            [(interrupt_id, value)] = resume.items()
            return Answer(interrupt_id, value)
        if len(waiting) != 1:
            detail = "command.resume: the thread waits on no interrupt, or on several (by id)"
            raise ApiError(HTTP_409_CONFLICT, "nothing_to_approve", detail, "command")
        return Answer(waiting[0].id, resume)

    async def _check_regenerable(self, checkpoint_id: str) -> None:
        """Check a run from a checkpoint with no input: it answers that state's last message.

        Served where that is the thread's last user message (as LangChain's UIs regenerate).

        Raises:
            ApiError: 422 for a checkpoint further back.
        """
        threads = threads_of(self.services)
        # As LangGraph continues from a checkpoint: with the input that waited on it.
        at = (await threads.state(self.user, self.thread_id, checkpoint_id, as_run=True)).values
        now = (await threads.state(self.user, self.thread_id, None)).values
        asked = [m for m in _messages(at) if m.get("type") == "human"]
        latest = [m for m in _messages(now) if m.get("type") == "human"]
        if not asked or not latest or asked[-1].get("id") != latest[-1].get("id"):
            detail = "checkpoint: only the last user message can be answered again"
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail, "checkpoint")

    async def _make_way(self) -> None:
        """What `multitask_strategy` does when a run of the thread is running already.

        `enqueue` waits its turn (Threadline's queue); `reject` is refused (409);
        `interrupt` stops the running reply, which keeps what it said, and then runs;
        `rollback` stops it and removes what it said, then runs.
        """
        strategy = self.body.multitask_strategy
        if strategy == "enqueue":
            return
        view = await threads_of(self.services).get(self.user, self.thread_id)
        if view.status != "busy":
            return
        if strategy == "reject":
            detail = "Thread is already running a run; its multitask_strategy is reject"
            raise ApiError(HTTP_409_CONFLICT, "conversation_busy", detail)
        await stop_run(self.services, self.user, self.thread_id, rollback=strategy == "rollback")

    async def first(self) -> Failed | None:
        """Wait for a message's turn to store it (or to wait its place); its refusal if not.

        An answer's turn stores nothing first: its events are all the stream's.
        """
        if self.body.message is None:
            return None
        async for event in self.stream.events():
            if isinstance(event, Failed):
                return event
            if isinstance(event, Accepted | Queued):
                return None
        return None

    async def opening(self) -> list[ServerSentEventMessage]:
        """`metadata`, then the state the run starts from (not again to a rejoining client).

        The state is read only where a mode asked for tells it (`values`): tokens alone
        (`messages-tuple`, as `useStream` and the SDKs' chats ask) need no read of it.
        """
        self.told = RunStream(
            self.run_id, self.thread_id, self.body.modes, subgraphs=self.body.stream_subgraphs
        )
        values: Any = {}
        if self.told.tells_values:  # read only for a mode that tells it
            values = (await threads_of(self.services).state(self.user, self.thread_id, None)).values
        started = self.told.start(values)
        if self._joined:
            return []
        return [_message(e) for e in (self.told.metadata(), *started)]

    async def render(self, event: Event) -> AsyncIterator[ServerSentEventMessage]:
        """One event in the modes asked for; at the run's end, the state it ends with.

        That state is read only for the modes that tell it or what the run waits for
        (`values`, `updates`).
        """
        assert self.told is not None  # noqa: S101 - opened
        if self._ended:
            return
        for sse in self.told.translate(event):
            yield _message(sse)
        if not ends_run(event):
            return
        self._ended = True
        self.stream.end()
        if not isinstance(event, Failed):
            try:
                values, interrupts = await self._state() if self.told.tells_end_state else ({}, [])
                ending = self.told.end(values, interrupts)
            except Exception as error:  # noqa: BLE001 - told as the stream's error, as any
                ending = self.told.translate(failed(error, self.thread_id, "run.state_failed"))
            for sse in ending:
                yield _message(sse)
        await self.finish()

    async def _state(self) -> tuple[Any, list[Any]]:
        """The thread's values now, and what it waits for."""
        state = await threads_of(self.services).state(self.user, self.thread_id, None)
        return state.values, [msgspec.to_builtins(i) for i in state.interrupts]

    async def outcome(self) -> Any:
        """Wait for the run's end: the thread's values then, as `runs/wait` answers them.

        A paused run's values carry its `__interrupt__`s; a failed run's answer is its
        `__error__` (with Threadline's code), as the LangGraph server answers it.
        """
        async for event in self.stream.events():
            if isinstance(event, Failed):
                await self.finish()
                error = {"error": event.code, "message": event.detail, "code": event.code}
                return {"__error__": error}
            if event is not None and ends_run(event):
                break
        self.stream.end()
        values, interrupts = await self._state()
        await self.finish()
        return {**values, "__interrupt__": interrupts} if interrupts else values

    async def gone(self) -> None:
        """The client left before the end: stop the run if it asked for that."""
        if self.body.on_disconnect == "cancel" and self.turn is not None:
            await self.services.chat.withdraw(self.turn)
        elif self.body.on_disconnect == "cancel" and not self._ended:  # a rejoined run's
            await stop_run(self.services, self.user, self.thread_id, rollback=False)
        await self.finish()

    async def finish(self) -> None:
        """After the run: a stateless run's thread goes (unless it asked to keep it)."""
        if self.temporary and self.body.on_completion != "keep":
            self.temporary = False
            with suppress(ConversationNotFound):
                await self.services.chat.conversations.delete(self.user, self.thread_id)


async def stop_run(services: Services, user: str, thread_id: str, *, rollback: bool) -> None:
    """Stop the thread's running turn (on any process) and wait until it has ended.

    With `rollback`, the partial reply it stored (and its tool steps) is removed after.
    """
    stopped = EventStream()
    try:
        await services.chat.watching.stop(user, thread_id, stopped)
    except NothingToStop:  # it ended meanwhile
        return
    outcome = None
    with suppress(TimeoutError):  # it is stopping: what it said is kept, as it will be
        async with asyncio.timeout(services.settings.turn_timeout):
            async for event in stopped.events():
                if event is not None and ends_run(event):
                    outcome = event
                    break
    stopped.end()
    if rollback and isinstance(outcome, Replied) and outcome.stopped:
        await services.chat.conversations.roll_back(user, thread_id, outcome.message_id)


def _messages(values: Any) -> list[dict[str, Any]]:
    found = values.get("messages") if isinstance(values, dict) else None
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def _check_size(text: str, limit: int) -> None:
    if len(text.encode()) > limit:
        detail = f"input.messages: the message exceeds the limit of {limit} bytes"
        raise ApiError(413, "message_too_large", detail, "input.messages")
