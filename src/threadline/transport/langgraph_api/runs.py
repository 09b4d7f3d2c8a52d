"""`/threads/{thread_id}/runs` and `/runs`: runs streamed (SSE) or waited for.

Each run is a Threadline turn (`run.Run`); the stateless `/runs/...` run on a thread of
their own, deleted once the run ends (unless `on_completion` is `keep`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Response, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.response import ServerSentEvent

from threadline.transport.langgraph_api.errors import failure_response
from threadline.transport.langgraph_api.run import Run, threads_of
from threadline.transport.langgraph_api.run_bodies import RunCreate
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.params import ConversationId
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.transport.services import Services

__all__ = ("RunsController", "StatelessRunsController")


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
            await threads.create(user, thread_id, {}, reuse=True)
        run = Run(services, user, thread_id, data)
    try:
        run.turn = await run.start()
    except BaseException:
        await run.finish()
        raise
    refused = await run.first()
    if refused is not None:
        await run.finish()
        return failure_response(refused.code, refused.detail)
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
