"""`/threads`: conversations as LangGraph threads, for the user the request acts for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_422_UNPROCESSABLE_ENTITY

from threadline.chat.langgraph_api.snapshots import CheckpointRef, StateView
from threadline.chat.langgraph_api.threads import Threads, ThreadStatus, ThreadView
from threadline.transport.langgraph_api.users import ActingUser, acting_user
from threadline.transport.params import CONVERSATION_ID_PATTERN, ConversationId
from threadline.transport.rest import ApiError
from threadline.transport.services import services_of

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("ThreadsController",)

ThreadId = Annotated[str, msgspec.Meta(pattern=CONVERSATION_ID_PATTERN)]
CheckpointId = Annotated[str, msgspec.Meta(pattern=CONVERSATION_ID_PATTERN)]
CheckpointIdPath = Annotated[
    str, PathParameter(pattern=CONVERSATION_ID_PATTERN, description="The checkpoint's id.")
]
Metadata = dict[str, Any]


class ThreadCreate(msgspec.Struct, kw_only=True):
    """`POST /threads`: a new thread, under a chosen id if given."""

    thread_id: ThreadId | None = None
    metadata: Metadata | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadPatch(msgspec.Struct, kw_only=True):
    """`PATCH /threads/{id}`: metadata merged into the thread's."""

    metadata: Metadata


class ThreadSearch(msgspec.Struct, kw_only=True):
    """`POST /threads/search`."""

    metadata: Metadata | None = None
    status: ThreadStatus | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    offset: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    sort_by: Literal["thread_id", "created_at", "updated_at", "state_updated_at"] = "updated_at"
    sort_order: Literal["asc", "desc"] = "desc"
    # Not supported: refused when given, rather than silently ignored.
    values: Metadata | None = None
    ids: list[str] | None = None


class Checkpoint(msgspec.Struct, kw_only=True):
    """A checkpoint a client names (only `checkpoint_id` is read; no subgraphs)."""

    checkpoint_id: CheckpointId | None = None
    thread_id: str | None = None
    checkpoint_ns: str = ""


class StateAt(msgspec.Struct, kw_only=True):
    """`POST /threads/{id}/state/checkpoint`."""

    checkpoint: Checkpoint
    subgraphs: bool = False


class StateUpdate(msgspec.Struct, kw_only=True):
    """`POST /threads/{id}/state`: values written as a new checkpoint."""

    values: Metadata | list[Any] | None = None
    as_node: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    checkpoint_id: CheckpointId | None = None
    checkpoint: Checkpoint | None = None


class HistoryQuery(msgspec.Struct, kw_only=True):
    """`POST /threads/{id}/history`."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    before: CheckpointId | Checkpoint | None = None
    metadata: Metadata | None = None
    checkpoint: Checkpoint | None = None


class UpdateAnswer(msgspec.Struct):
    """The checkpoint an update wrote."""

    checkpoint: CheckpointRef


def _threads(state: State) -> Threads:
    threads = services_of(state).chat.threads
    assert threads is not None  # noqa: S101 - wired whenever the app is
    return threads


def _refuse_unsupported(data: ThreadSearch) -> None:
    for field in ("values", "ids"):
        if getattr(data, field) is not None:
            detail = f"{field}: searching threads by {field} is not supported by this server"
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "not_supported", detail, field)


def _checkpoint_id(given: str | Checkpoint | None) -> str | None:
    return given.checkpoint_id if isinstance(given, Checkpoint) else given


class ThreadsController(Controller):
    """`/threads`: a thread is a conversation (`thread_id` = `conversation_id`)."""

    path = "/threads"
    tags = ["langgraph"]  # noqa: RUF012 - Litestar's declared attribute type
    dependencies = {"user": Provide(acting_user, sync_to_thread=False)}  # noqa: RUF012

    @post("/", status_code=HTTP_200_OK)
    async def create_thread(
        self, state: State, user: ActingUser, data: JSONBody[ThreadCreate]
    ) -> ThreadView:
        """Start a conversation (empty until a run or a message); 409 if the id is taken."""
        reuse = data.if_exists == "do_nothing"
        return await _threads(state).create(user, data.thread_id, data.metadata or {}, reuse=reuse)

    @post("/search", status_code=HTTP_200_OK)
    async def search_threads(
        self, state: State, user: ActingUser, data: JSONBody[ThreadSearch]
    ) -> list[ThreadView]:
        """The user's threads whose metadata contains `metadata` (and of that status)."""
        _refuse_unsupported(data)
        sort_by = "updated_at" if data.sort_by == "state_updated_at" else data.sort_by
        return await _threads(state).search(
            user,
            data.metadata or {},
            data.status,
            sort_by=sort_by,
            descending=data.sort_order == "desc",
            limit=data.limit,
            offset=data.offset,
        )

    @get("/{thread_id:str}")
    async def get_thread(
        self, state: State, user: ActingUser, thread_id: ConversationId
    ) -> ThreadView:
        """The thread, its status and its latest values."""
        return await _threads(state).get(user, thread_id)

    @patch("/{thread_id:str}")
    async def patch_thread(
        self, state: State, user: ActingUser, thread_id: ConversationId, data: JSONBody[ThreadPatch]
    ) -> ThreadView:
        """Merge metadata into the thread's."""
        return await _threads(state).update(user, thread_id, data.metadata)

    @delete("/{thread_id:str}")
    async def delete_thread(
        self, state: State, user: ActingUser, thread_id: ConversationId
    ) -> None:
        """Delete the conversation and its whole thread; a running reply is stopped first."""
        await services_of(state).chat.conversations.delete(user, thread_id)

    @get("/{thread_id:str}/state")
    async def get_thread_state(
        self, state: State, user: ActingUser, thread_id: ConversationId
    ) -> StateView:
        """The thread's latest state."""
        return await _threads(state).state(user, thread_id, None)

    @get("/{thread_id:str}/state/{checkpoint_id:str}")
    async def get_thread_state_at(
        self,
        state: State,
        user: ActingUser,
        thread_id: ConversationId,
        checkpoint_id: CheckpointIdPath,
    ) -> StateView:
        """The thread's state at one of its checkpoints."""
        return await _threads(state).state(user, thread_id, checkpoint_id)

    @post("/{thread_id:str}/state/checkpoint", status_code=HTTP_200_OK)
    async def post_thread_state_at(
        self, state: State, user: ActingUser, thread_id: ConversationId, data: JSONBody[StateAt]
    ) -> StateView:
        """The thread's state at the checkpoint named in the body."""
        return await _threads(state).state(user, thread_id, data.checkpoint.checkpoint_id)

    @post("/{thread_id:str}/state", status_code=HTTP_200_OK)
    async def update_thread_state(
        self, state: State, user: ActingUser, thread_id: ConversationId, data: JSONBody[StateUpdate]
    ) -> UpdateAnswer:
        """Write values as a new checkpoint, as `as_node`'s output; 409 while a run runs."""
        updated = await _threads(state).update_state(
            user,
            thread_id,
            data.values,
            as_node=data.as_node,
            checkpoint_id=data.checkpoint_id or _checkpoint_id(data.checkpoint),
        )
        return UpdateAnswer(updated.checkpoint)

    @get("/{thread_id:str}/history")
    async def get_thread_history(
        self,
        state: State,
        user: ActingUser,
        thread_id: ConversationId,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 10,
        before: Annotated[str | None, QueryParameter(pattern=CONVERSATION_ID_PATTERN)] = None,
    ) -> list[StateView]:
        """The thread's states, newest first."""
        return await _threads(state).history(user, thread_id, limit, before=before)

    @post("/{thread_id:str}/history", status_code=HTTP_200_OK)
    async def post_thread_history(
        self,
        state: State,
        user: ActingUser,
        thread_id: ConversationId,
        data: JSONBody[HistoryQuery],
    ) -> list[StateView]:
        """The thread's states, newest first: before a checkpoint, matching metadata."""
        return await _threads(state).history(
            user,
            thread_id,
            data.limit,
            before=_checkpoint_id(data.before),
            metadata=data.metadata,
            at=_checkpoint_id(data.checkpoint),
        )
