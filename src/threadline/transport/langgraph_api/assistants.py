"""`/info`, `/ok` and the assistants: one per graph Threadline serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND

from threadline.chat.langgraph_api.assistants import AssistantView, GraphSchemas
from threadline.transport.rest import ApiError
from threadline.transport.services import services_of
from threadline.version import VERSION

if TYPE_CHECKING:
    from litestar.datastructures import State

    from threadline.chat.langgraph_api.assistants import ServedAssistants

__all__ = ("AssistantsController", "info", "ok")

AssistantId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Info(msgspec.Struct):
    """What this server is and which parts of the LangGraph API it serves."""

    version: str
    flags: dict[str, bool]
    server: str = "threadline"


class Ok(msgspec.Struct):
    """The LangGraph server's liveness answer."""

    ok: bool


@get("/info", opt={"public": True}, security=[{}], tags=["langgraph"], sync_to_thread=False)
def info() -> Info:
    """The server's version and features (the LangGraph clients ask before anything)."""
    return Info(VERSION, {"assistants": True, "crons": False, "langsmith": False})


@get("/ok", opt={"public": True}, security=[{}], tags=["langgraph"], sync_to_thread=False)
def ok() -> Ok:
    """Liveness, as the LangGraph server answers it."""
    return Ok(ok=True)


class AssistantSearch(msgspec.Struct, kw_only=True):
    """`POST /assistants/search`."""

    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0
    sort_by: str | None = None
    sort_order: str | None = None
    select: list[str] | None = None


def _assistants(state: State) -> ServedAssistants:
    return services_of(state).chat.assistants


def _missing(assistant_id: str) -> ApiError:
    return ApiError(
        HTTP_404_NOT_FOUND, "assistant_not_found", f"Assistant {assistant_id} not found"
    )


class AssistantsController(Controller):
    """`/assistants`: the graphs Threadline serves, read-only."""

    path = "/assistants"
    tags = ["langgraph"]  # noqa: RUF012 - Litestar's declared attribute type

    @post("/search", status_code=HTTP_200_OK, sync_to_thread=False)
    def search_assistants(
        self, state: State, data: JSONBody[AssistantSearch]
    ) -> list[AssistantView]:
        """The assistants of a graph (and name), whose metadata contains `metadata`."""
        found = _assistants(state).search(data.graph_id, data.name, data.metadata or {})
        return found[data.offset : data.offset + data.limit]

    @get("/{assistant_id:str}", sync_to_thread=False)
    def get_assistant(self, state: State, assistant_id: AssistantId) -> AssistantView:
        """An assistant, by its id or its graph's name."""
        found = _assistants(state).get(assistant_id)
        if found is None:
            raise _missing(assistant_id)
        return found

    @get("/{assistant_id:str}/graph")
    async def get_assistant_graph(
        self,
        state: State,
        assistant_id: AssistantId,
        xray: Annotated[bool, QueryParameter(description="Draw subgraphs too.")] = False,
    ) -> dict[str, Any]:
        """The assistant's graph: its nodes and edges."""
        drawing = await _assistants(state).drawing(assistant_id, xray=xray)
        if drawing is None:
            raise _missing(assistant_id)
        return drawing

    @get("/{assistant_id:str}/schemas", sync_to_thread=False)
    def get_assistant_schemas(self, state: State, assistant_id: AssistantId) -> GraphSchemas:
        """The JSON schemas of the assistant's graph: input, output, state, context."""
        found = _assistants(state).schemas(assistant_id)
        if found is None:
            raise _missing(assistant_id)
        return found
