"""`POST /ag-ui`: one AG-UI run, a Threadline turn streamed as AG-UI events.

The request is read and checked at once (a body that is not a `RunAgentInput` is a 422);
everything after it is told in the stream. A task of the request's own then sets the list
against the stored thread, starts the turn through the chat service with the stream as
its `Send` (a message: `send_message`; a `resume`: `decide`, one answer after another),
waits for the turn to end, and tells the stored thread (a `History` event: the snapshot
and `RUN_FINISHED`). A refusal at any step is the run's `RUN_ERROR`.

The end's read asks what the thread waits for only where it can wait for something: the
thread waited before the run, or a turn of the run paused. A turn that ended with a reply
on a thread that waited for nothing leaves it waiting for nothing.

A client that leaves early does not stop its turn (unless `ON_DISCONNECT=cancel`, as on
the WebSocket): the reply is stored, and the next run finds it in the thread.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from ag_ui.core import RunAgentInput
from litestar import post
from litestar.di import Provide
from litestar.params import JSONBody, PathParameter
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND

from threadline.chat.errors import ConversationNotFound
from threadline.chat.events import ApprovalRequired, Event, InterruptEvent
from threadline.chat.turns.failures import failed
from threadline.conversations.index import Choice
from threadline.transport.ag_ui.inputs import Plan, client_tools, parse_input, plan_run
from threadline.transport.ag_ui.render import Translation
from threadline.transport.event_stream import EventStream
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.rest import ApiError
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.chat.events import History
    from threadline.chat.service import ChatService
    from threadline.chat.turns.turn import Turn

__all__ = ("run_agent", "run_assistant")

# The stored messages a run's list is checked against, at most (the list is the bound:
# a body of MAX_BODY_BYTES holds fewer).
HISTORY_LIMIT = 100_000
# The runs of this process, each until its turn ended and its stream was told so.
_RUNS: set[asyncio.Task[None]] = set()


class _RunStream(EventStream):
    """The run's stream, noting whether a turn paused on something (told as it paused)."""

    paused = False

    async def __call__(self, event: Event) -> None:
        """Queue `event` for the response, as `EventStream` does."""
        if isinstance(event, InterruptEvent | ApprovalRequired):
            self.paused = True
        await super().__call__(event)


class _Run:
    """One AG-UI run: its request, its stream, and the turn running for it now."""

    def __init__(self, chat: ChatService, user: str, run: RunAgentInput, choice: Choice | None):
        self.chat = chat
        self.user = user
        self.input = run
        self.choice = choice
        self.stream = _RunStream()
        self.tools = client_tools(run)
        names = {tool.name for tool in run.tools or []}
        self.translation = Translation(run.thread_id, run.run_id, names)
        self.turn: Turn | None = None

    @property
    def thread_id(self) -> str:
        return self.input.thread_id

    async def conduct(self) -> None:
        """Plan, run the turns, tell the stored thread; any refusal is the run's error."""
        try:
            history = await self._stored()
            if history is None and self.input.resume:
                raise ConversationNotFound  # nothing of a missing thread waits
            plan = plan_run(
                self.input,
                history.messages if history else [],
                history.pending_interrupts if history else [],
            )
            self.translation.known = {message.id for message in self.input.messages}
            if history is None and plan.message is None:
                raise ConversationNotFound  # nothing to start a thread with
            await self._play(plan, history is None)
            if not self.translation.over:
                waited = history is not None and bool(history.pending_interrupts)
                await self.stream(await self._history(interrupts=waited or self.stream.paused))
        except Exception as error:  # noqa: BLE001 - every failure is told as RUN_ERROR
            await self.stream(failed(error, self.thread_id, "ag_ui.failed"))
        finally:
            self.stream.end()

    async def _stored(self) -> History | None:
        """The thread as stored; None if the user has none under this id (yet)."""
        try:
            return await self._history(interrupts=True)
        except ConversationNotFound:
            return None

    async def _history(self, *, interrupts: bool) -> History:
        """The stored thread, and what it waits for if asked (AG-UI shows no ratings)."""
        return await self.chat.conversations.history(
            self.user, self.thread_id, HISTORY_LIMIT, feedback=False, interrupts=interrupts
        )

    async def _play(self, plan: Plan, new: bool) -> None:
        if plan.message is not None:
            text, client_id = plan.message
            self.turn = await self.chat.send_message(
                self.user,
                text,
                self.thread_id,
                client_id,
                self.stream,
                chosen=self.choice,
                client_tools=self.tools,
                create=new,
            )
            await _ended(self.turn)
        if plan.results:
            self.turn = await self.chat.answer_tools(
                self.user, self.thread_id, plan.results, self.stream, self.tools
            )
            await _ended(self.turn)
        for answer in plan.answers:
            if self.translation.over:
                return
            self.turn = await self.chat.decide(self.user, self.thread_id, answer, self.stream)
            await _ended(self.turn)

    async def gone(self, cancel: bool) -> None:
        """The client left before the end: its turn goes on, or stops (ON_DISCONNECT)."""
        turn = self.turn
        if turn is None:
            return
        turn.audience.detach(self.stream)
        if cancel and turn.origin is self.stream and not turn.audience.watched:
            await self.chat.withdraw(turn)


async def _ended(turn: Turn) -> None:
    """Wait for the turn to send its last event (never cancelling it)."""
    if turn.task is not None:
        await asyncio.wait({turn.task})


def _choice(chat: ChatService, assistant_id: str | None) -> Choice | None:
    if assistant_id is None:
        return None
    served = chat.assistants.find(assistant_id)
    if served is None:
        detail = f"no assistant or graph {assistant_id!r} is served here"
        raise ApiError(HTTP_404_NOT_FOUND, "unknown_assistant", detail[:300], "assistant_id")
    return Choice(assistant_id=served.name)


AssistantPath = Annotated[
    str, PathParameter(min_length=1, max_length=256, description="An assistant id or graph name.")
]
_USER = {"user": Provide(acting_user, sync_to_thread=False)}


@post("/ag-ui", status_code=HTTP_200_OK, dependencies=_USER, tags=["ag-ui"])
async def run_agent(
    state: State, user: ActingUser, data: JSONBody[dict[str, Any]]
) -> ServerSentEvent:
    """Run the default agent on the thread `threadId`: `RunAgentInput` in, AG-UI events out.

    Bad input is a 422 `{"code", "detail", "field"}`; anything refused later is the
    stream's `RUN_ERROR` with Threadline's code.
    """
    return _started(state, user, data, None)


@post("/ag-ui/{assistant_id:str}", status_code=HTTP_200_OK, dependencies=_USER, tags=["ag-ui"])
async def run_assistant(
    state: State, user: ActingUser, assistant_id: AssistantPath, data: JSONBody[dict[str, Any]]
) -> ServerSentEvent:
    """As `POST /ag-ui`, a new thread getting this assistant (its id, or its graph's name)."""
    return _started(state, user, data, assistant_id)


def _started(
    state: State, user: str, data: dict[str, Any], assistant_id: str | None
) -> ServerSentEvent:
    services = services_of(state)
    run = parse_input(data, services.settings.max_message_bytes)
    agui = _Run(services.chat, user, run, _choice(services.chat, assistant_id))
    task = asyncio.create_task(agui.conduct())
    _RUNS.add(task)
    task.add_done_callback(_RUNS.discard)
    cancel = services.settings.on_disconnect == "cancel"

    async def on_gone() -> None:
        await agui.gone(cancel)

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return agui.stream.response(agui.translation, headers=headers, on_gone=on_gone)
