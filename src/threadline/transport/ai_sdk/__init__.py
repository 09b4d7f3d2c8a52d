"""The Vercel AI SDK's edge: `useChat`'s chat transport over Threadline's turns.

`routes` answers `DefaultChatTransport` (`body` reads what it posts), `chunks` says a
turn's events as the UI message stream, `following` ends each response with its turn.
Nothing of the SDK is inside `chat/` or `engine/`.
"""

from __future__ import annotations

from litestar import Router

from threadline.transport.ai_sdk.routes import AiSdkController

__all__ = ("MAX_BODY_BYTES", "ai_sdk_router")

# The SDK posts the chat's whole message list on every request.
MAX_BODY_BYTES = 4 * 1024 * 1024


def ai_sdk_router() -> Router:
    """The AI SDK's routes, under `/ai-sdk/chat`."""
    return Router("/", route_handlers=[AiSdkController], request_max_body_size=MAX_BODY_BYTES)
