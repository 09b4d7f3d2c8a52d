"""`/threads/{thread_id}/runs` and `/runs`: runs streamed (SSE) or waited for.

Each run is a Threadline turn (`run.Run`); the stateless `/runs/...` run on a thread of
their own, deleted once the run ends (unless `on_completion` is `keep`).
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.status_codes import (
    HTTP_202_ACCEPTED,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from threadline.chat.errors import NothingToResume, NothingToStop
from threadline.chat.events import Event
from threadline.chat.langgraph_api.thread_runs import RunStatus, RunView, ThreadRuns
from threadline.transport.langgraph_api.errors import failure_response
from threadline.transport.langgraph_api.run import Run, stop_run, threads_of
from threadline.transport.langgraph_api.run_bodies import RunCreate
from threadline.transport.langgraph_api.stream_modes import STREAM_MODES, StreamMode
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.params import CONVERSATION_ID_PATTERN, ConversationId
from threadline.transport.rest import ApiError
from threadline.transport.services import claim_conversation, services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.transport.services import Services

__all__ = ("RunsController", "StatelessRunsController")

RunId = Annotated[str, PathParameter(pattern=CONVERSATION_ID_PATTERN, description="The run's id.")]
# The SDKs send `stream_mode=` (empty) when they name none.
Modes = Annotated[
    list[str] | None,
    QueryParameter(description="The stream modes to tell (values, messages-tuple, ...)."),
]
LastEventId = Annotated[
    str | None, HeaderParameter(name="Last-Event-ID", pattern=r"^[0-9]{1,12}$", required=False)
]


async def _started(
    services: Services, user: str, thread_id: str | None, data: RunCreate
) -> Run | Response[Any]:
    """The run started, its message stored; or the refusal to answer instead."""
    data.refuse_unserved()
    threads = threads_of(services)
    if thread_id is None:  # stateless: a thread of its own
        made = await threads.create(user, None, {}, reuse=False)
        run = Run(services, user, made.thread_id, data, temporary=True)
    else:
        if data.if_not_exists == "create":
            await claim_conversation(services.chat, user, thread_id)
        run = Run(services, user, thread_id, data)
    try:
        run.turn = await run.start()
    except BaseException:
        await run.finish()
        raise
    refused = await run.first()
    if refused is not None:
        await run.finish()
        return failure_response(refused.code, refused.detail, refused.retry_after)
    return run


def _where(run: Run) -> dict[str, str]:
    assert run.turn is not None  # noqa: S101 - started
    where = f"/threads/{run.thread_id}/runs/{run.turn.reply_id}"
    if run.temporary:  # gone once the run ends: nothing to rejoin
        return {"Content-Location": where}
    return {"Content-Location": where, "Location": f"{where}/stream"}


async def _streamed(run: Run | Response[Any]) -> ServerSentEvent | Response[Any]:
    if isinstance(run, Response):
        return run
    opening = await run.opening()
    return run.stream.response(run.render, first=opening, headers=_where(run), on_gone=run.gone)


async def _waited(run: Run | Response[Any]) -> Response[Any]:
    if isinstance(run, Response):
        return run
    return Response(await run.outcome(), headers=_where(run))


def _runs(services: Services) -> ThreadRuns:
    runs = services.chat.runs
    assert runs is not None  # noqa: S101 - wired whenever the app is
    return runs


async def _run(services: Services, user: str, thread_id: str, run_id: str) -> RunView | None:
    """The run; None for one of a thread busy on another process (not stored yet there).

    Raises:
        ApiError: 404: the thread has no such run.
    """
    found = await _runs(services).get(user, thread_id, run_id)
    if found is None and (await threads_of(services).get(user, thread_id)).status != "busy":
        raise ApiError(HTTP_404_NOT_FOUND, "run_not_found", f"Run {run_id} not found")
    return found


def _modes(asked: list[str] | None) -> list[StreamMode]:
    """The stream modes a query names (an empty one, as the SDKs send for none, left out).

    Raises:
        ApiError: 422 for a mode not served.
    """
    modes = [m for m in asked or [] if m]
    for mode in modes:
        if mode not in STREAM_MODES or mode == "events":
            detail = f"stream_mode: {mode!r} is not served"
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_request", detail, "stream_mode")
    return cast("list[StreamMode]", modes)


def _live(run: RunView | None) -> bool:
    return run is None or run.status in {"pending", "running"}


async def _ignore(_: Event) -> None:
    """Where the events of a run stopped without waiting go: its own stream tells them."""


async def _joined(  # noqa: PLR0913 - the join's facts, each named
    services: Services,
    user: str,
    thread_id: str,
    run_id: str,
    *,
    modes: list[StreamMode] | None = None,
    after_seq: int | None = None,
    follow: bool = True,
    cancel_on_disconnect: bool = False,
) -> Run:
    """A run rejoined: the thread's running (or latest) turn followed, unless not `follow`."""
    body = RunCreate(
        stream_mode=modes or ["values", "messages-tuple"],
        on_disconnect="cancel" if cancel_on_disconnect else "continue",
    )
    run = Run(services, user, thread_id, body)
    try:
        if follow:
            await run.join(run_id, after_seq)
            return run
    except NothingToResume:  # no reply yet, and none running: the state says it all
        pass
    run.run_id = run_id
    run.stream.end()
    return run


class RunsController(Controller):
    """`/threads/{thread_id}/runs`: a thread's runs, streamed or waited for."""

    path = "/threads/{thread_id:str}/runs"
    tags = ["langgraph"]  # noqa: RUF012 - Litestar's declared attribute type
    dependencies = {"user": Provide(acting_user, sync_to_thread=False)}  # noqa: RUF012

    @post("/stream", status_code=200)
    async def stream_run(
        self, state: State, user: ActingUser, thread_id: ConversationId, data: JSONBody[RunCreate]
    ) -> ServerSentEvent | Response[Any]:
        """Start a run and stream its events (SSE) in the modes asked for."""
        return await _streamed(await _started(services_of(state), user, thread_id, data))

    @post("/", status_code=200)
    async def create_run(
        self, state: State, user: ActingUser, thread_id: ConversationId, data: JSONBody[RunCreate]
    ) -> Response[Any]:
        """Start a run in the background: answered once its message is stored."""
        services = services_of(state)
        run = await _started(services, user, thread_id, data)
        if isinstance(run, Response):
            return run
        assert run.turn is not None  # noqa: S101 - started
        run.turn.audience.detach(run.stream)  # nobody reads it: the run goes on alone
        run.stream.end()
        found = await _runs(services).get(user, thread_id, run.run_id)
        return Response(found, headers=_where(run))

    @get("/")
    async def list_runs(  # noqa: PLR0913 - the request's parts, each named
        self,
        state: State,
        user: ActingUser,
        thread_id: ConversationId,
        *,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
        status: Annotated[RunStatus | None, QueryParameter()] = None,
    ) -> list[RunView]:
        """The thread's runs, newest first (read from its checkpoints)."""
        runs = await _runs(services_of(state)).page(user, thread_id, 10_000, 0)
        chosen = [r for r in runs if status is None or r.status == status]
        return chosen[offset : offset + limit]

    @get("/{run_id:str}")
    async def get_run(
        self, state: State, user: ActingUser, thread_id: ConversationId, run_id: RunId
    ) -> RunView:
        """One run of the thread."""
        services = services_of(state)
        found = await _runs(services).get(user, thread_id, run_id)
        if found is None:
            raise ApiError(HTTP_404_NOT_FOUND, "run_not_found", f"Run {run_id} not found")
        return found

    @get("/{run_id:str}/join")
    async def join_run(
        self, state: State, user: ActingUser, thread_id: ConversationId, run_id: RunId
    ) -> Any:
        """Wait for the run to end; the thread's values then."""
        services = services_of(state)
        if _live(await _run(services, user, thread_id, run_id)):
            run = await _joined(services, user, thread_id, run_id)
            if not run.stream.ended:
                return await run.outcome()
        return (await threads_of(services).state(user, thread_id, None)).values

    @get("/{run_id:str}/stream")
    async def join_run_stream(  # noqa: PLR0913 - the request's parts, each named
        self,
        state: State,
        user: ActingUser,
        thread_id: ConversationId,
        run_id: RunId,
        *,
        stream_mode: Modes = None,
        cancel_on_disconnect: Annotated[bool, QueryParameter()] = False,
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        """The run's events after `Last-Event-ID` (all of them without), then live."""
        services = services_of(state)
        found = await _run(services, user, thread_id, run_id)
        after = int(last_event_id) if last_event_id else None
        # An older run than the thread's newest has ended: its state is all there is to tell.
        newest = await _runs(services).page(user, thread_id, 1, 0)
        follow = _live(found) or (bool(newest) and newest[0].run_id == run_id)
        modes = _modes(stream_mode)
        run = await _joined(
            services,
            user,
            thread_id,
            run_id,
            modes=modes,
            after_seq=after,
            follow=follow,
            cancel_on_disconnect=cancel_on_disconnect,
        )
        return run.stream.response(run.render, first=await run.opening(), on_gone=run.gone)

    @post("/{run_id:str}/cancel", status_code=HTTP_202_ACCEPTED)
    async def cancel_run(  # noqa: PLR0913 - the request's parts, each named
        self,
        state: State,
        user: ActingUser,
        thread_id: ConversationId,
        run_id: RunId,
        *,
        wait: Annotated[bool, QueryParameter()] = False,
        action: Annotated[Literal["interrupt", "rollback"], QueryParameter()] = "interrupt",
    ) -> None:
        """Stop the run: `interrupt` keeps what it said, `rollback` removes it.

        `wait`: answer once it has stopped (a rollback always waits for that).
        """
        services = services_of(state)
        if not _live(await _run(services, user, thread_id, run_id)):
            raise ApiError(HTTP_409_CONFLICT, "nothing_to_stop", "Run is not pending or running")
        if wait or action == "rollback":
            await stop_run(services, user, thread_id, rollback=action == "rollback")
            return
        with suppress(NothingToStop):  # it ended meanwhile
            await services.chat.watching.stop(user, thread_id, _ignore)

    @post("/wait", status_code=200)
    async def wait_run(
        self, state: State, user: ActingUser, thread_id: ConversationId, data: JSONBody[RunCreate]
    ) -> Response[Any]:
        """Start a run and answer the thread's values once it ends."""
        return await _waited(await _started(services_of(state), user, thread_id, data))


class StatelessRunsController(Controller):
    """`/runs`: a run on a thread of its own, gone once the run ends."""

    path = "/runs"
    tags = ["langgraph"]  # noqa: RUF012 - Litestar's declared attribute type
    dependencies = {"user": Provide(acting_user, sync_to_thread=False)}  # noqa: RUF012

    @post("/stream", status_code=200)
    async def stream_stateless_run(
        self, state: State, user: ActingUser, data: JSONBody[RunCreate]
    ) -> ServerSentEvent | Response[Any]:
        """Stream a run on a new thread, deleted after the run (`on_completion`: delete)."""
        return await _streamed(await _started(services_of(state), user, None, data))

    @post("/wait", status_code=200)
    async def wait_stateless_run(
        self, state: State, user: ActingUser, data: JSONBody[RunCreate]
    ) -> Response[Any]:
        """Run on a new thread and answer its final values; the thread is deleted after."""
        return await _waited(await _started(services_of(state), user, None, data))
