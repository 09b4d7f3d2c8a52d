"""The WebSocket protocol as an AsyncAPI 3 document, made from the frame Structs themselves.

Every message's payload is the JSON Schema msgspec derives from the Struct the server
decodes (client frames) or encodes (server frames), so the document cannot drift from
the code. Served at `/schema/asyncapi.json`, beside the OpenAPI document.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, get_args

import msgspec
from litestar import get

from threadline.transport.protocol import ClientFrame
from threadline.transport.websocket_frames import ServerFrame
from threadline.version import VERSION

__all__ = ("CLIENT_FRAMES", "SERVER_FRAMES", "asyncapi_document", "asyncapi_schema")

# Every frame of each direction, as the decoder and the encoder know them: a frame added
# to either union is in the document without anyone listing it.
CLIENT_FRAMES: tuple[type[msgspec.Struct], ...] = get_args(ClientFrame)
SERVER_FRAMES: tuple[type[msgspec.Struct], ...] = get_args(ServerFrame)
_CHANNEL = "chat"


def _message(frame: type[msgspec.Struct]) -> dict[str, Any]:
    """A frame as an AsyncAPI message: its tag, its docstring, its schema."""
    config = frame.__struct_config__
    summary = (inspect.getdoc(frame) or "").split("\n\n", 1)[0].replace("\n", " ")
    return {
        "name": str(config.tag),
        "title": str(config.tag),
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{frame.__name__}"},
    }


def _operation(action: str, frames: tuple[type[msgspec.Struct], ...], summary: str) -> Any:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{_CHANNEL}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{_CHANNEL}/messages/{f.__name__}"} for f in frames],
    }


def asyncapi_document(version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `/ws/{user_id}`, for server version `version`."""
    frames = (*CLIENT_FRAMES, *SERVER_FRAMES)
    _, schemas = msgspec.json.schema_components(frames, ref_template="#/components/schemas/{name}")
    schemas = _asyncapi_discriminators(schemas)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Threadline WebSocket protocol",
            "version": version,
            "description": "Chat over one socket per user: JSON text frames, each an "
            "object whose `type` names it. See docs/websocket-protocol.md.",
        },
        "defaultContentType": "application/json",
        "channels": {
            _CHANNEL: {
                "address": "/ws/{user_id}",
                "title": "A user's chat socket",
                "parameters": {"user_id": {"description": "1-128 letters, digits and _ . @ : | -"}},
                "messages": {
                    f.__name__: {"$ref": f"#/components/messages/{f.__name__}"} for f in frames
                },
            }
        },
        "operations": {
            "clientFrames": _operation("receive", CLIENT_FRAMES, "Frames the client sends."),
            "serverFrames": _operation("send", SERVER_FRAMES, "Frames the server sends."),
        },
        "components": {
            "schemas": schemas,
            "messages": {f.__name__: _message(f) for f in frames},
        },
    }


def _asyncapi_discriminators(node: Any) -> Any:
    """The schemas with AsyncAPI's `discriminator`, as a union nested in a frame has one.

    AsyncAPI's is the property's name; msgspec writes OpenAPI's `{propertyName, mapping}`.
    """
    if isinstance(node, list):
        return [_asyncapi_discriminators(child) for child in node]
    if not isinstance(node, dict):
        return node
    found = {key: _asyncapi_discriminators(child) for key, child in node.items()}
    discriminator = found.get("discriminator")
    if isinstance(discriminator, dict) and "propertyName" in discriminator:
        found["discriminator"] = discriminator["propertyName"]
    return found


@get("/schema/asyncapi.json", sync_to_thread=False, include_in_schema=False)
def asyncapi_schema() -> dict[str, Any]:
    """The WebSocket protocol as an AsyncAPI 3.0 document."""
    return _document()


@functools.cache
def _document() -> dict[str, Any]:
    return asyncapi_document(VERSION)
