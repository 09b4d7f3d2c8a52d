"""LangChain's thread event stream: commands in, events with `seq` out, over SSE or a socket.

`routes` serves the HTTP form (commands, and a server-sent events stream per request),
`socket` the WebSocket form on the stream's path; `handling` carries out the commands
through the chat service, `watch` follows a thread (from `since`, then live) and
`envelopes` says Threadline's events as the protocol's. Nothing of the protocol is
inside `chat/` or `engine/`.
"""

from __future__ import annotations

from litestar import Router

from threadline.transport.thread_events.routes import ThreadEventsController
from threadline.transport.thread_events.socket import thread_events_socket

__all__ = ("MAX_BODY_BYTES", "thread_events_router")

# A command carries one new message (MAX_MESSAGE_BYTES bounds its text) or an answer.
MAX_BODY_BYTES = 1024 * 1024


def thread_events_router() -> Router:
    """The thread event stream's routes, under `/threads/{thread_id}`."""
    return Router(
        "/",
        route_handlers=[ThreadEventsController, thread_events_socket],
        request_max_body_size=MAX_BODY_BYTES,
    )
