"""The LangGraph API: the LangGraph server's paths, bodies and answers, for its clients.

What LangChain's clients call, beside Threadline's own WebSocket and REST API, over the same
conversations (a thread is a conversation), users and store.

`/info`, `/ok`, the assistants, the threads and their state, the store, and runs: an
edge over the turn's series of events (`runs.py`, `stream_modes.py`).
"""

from __future__ import annotations

from litestar import Router

from threadline.transport.langgraph_api.assistants import AssistantsController, info, ok
from threadline.transport.langgraph_api.errors import langgraph_errors
from threadline.transport.langgraph_api.nul import refuse_nul
from threadline.transport.langgraph_api.runs import RunsController, StatelessRunsController
from threadline.transport.langgraph_api.store import StoreController
from threadline.transport.langgraph_api.threads import ThreadsController

__all__ = ("MAX_BODY_BYTES", "langgraph_router")

# A state update or a stored value: JSON a client writes, never a file.
MAX_BODY_BYTES = 1024 * 1024


def langgraph_router() -> Router:
    """The LangGraph API's routes, with its errors in the LangGraph server's shape."""
    return Router(
        "/",
        route_handlers=[
            info,
            ok,
            AssistantsController,
            ThreadsController,
            RunsController,
            StatelessRunsController,
            StoreController,
        ],
        exception_handlers=langgraph_errors,
        request_max_body_size=MAX_BODY_BYTES,
        before_request=refuse_nul,
    )
