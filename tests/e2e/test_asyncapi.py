"""The WebSocket protocol as an AsyncAPI 3.0 document: served, valid against the official
schema, and naming every frame the server decodes or sends."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, get_args

import httpx
import jsonschema
import pytest

from tests.serving import serve_threadline
from threadline.settings import Settings
from threadline.transport.asyncapi import asyncapi_document
from threadline.transport.protocol import ClientFrame
from threadline.transport.websocket_frames import ServerFrame

pytestmark = pytest.mark.anyio

# The AsyncAPI 3.0.0 JSON Schema, from the @asyncapi/specs package 6.11.1 (Apache-2.0).
SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "asyncapi-3.0.0.json").read_text())


async def _document(settings: Settings) -> dict[str, Any]:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}/schema/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


async def test_the_served_document_is_valid_asyncapi_3(settings: Settings) -> None:
    document = await _document(settings)

    jsonschema.Draft7Validator(SCHEMA).validate(document)
    assert document["channels"]["chat"]["address"] == "/ws/{user_id}"


async def test_it_names_every_frame_the_server_decodes_or_sends(settings: Settings) -> None:
    document = await _document(settings)
    operations = document["operations"]
    components = document["components"]

    def tags(operation: str) -> set[str]:
        refs = [m["$ref"].rsplit("/", 1)[1] for m in operations[operation]["messages"]]
        return {components["messages"][name]["name"] for name in refs}

    client = {kind.__struct_config__.tag for kind in get_args(ClientFrame)}
    server = {kind.__struct_config__.tag for kind in get_args(ServerFrame)}
    assert tags("clientFrames") == client
    assert tags("serverFrames") == server
    assert operations["clientFrames"]["action"] == "receive"
    assert operations["serverFrames"]["action"] == "send"
    resume = components["schemas"]["Resume"]["properties"]
    assert resume["after_seq"] == {"type": "integer", "minimum": 0, "default": 0}
    token = components["schemas"]["Token"]
    assert "seq" in token["properties"]
    # The agent saying a token, when a graph's agents answer in subgraphs; optional.
    assert token["properties"]["agent"] == {"type": "string"}
    assert "agent" not in token["required"]


def test_it_documents_the_interrupt_frames() -> None:
    document = asyncapi_document("0.1.0")
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    assert {"interrupt", "respond", "cancel_interrupt"} <= {m["name"] for m in messages.values()}
    respond = schemas["Respond"]
    assert set(respond["required"]) == {"type", "conversation_id", "interrupt_id", "value"}
    assert schemas["CancelInterrupt"]["required"] == ["type", "conversation_id"]
    assert set(schemas["InterruptEvent"]["required"]) >= {
        "conversation_id",
        "interrupt_id",
        "value",
    }
    assert "args" in schemas["Approve"]["properties"]
    pending = schemas["History"]["properties"]["pending_interrupts"]["items"]
    assert pending["discriminator"] == "type"  # AsyncAPI's form: the property's name


def test_the_schema_rejects_what_is_not_asyncapi_3() -> None:
    broken = copy.deepcopy(asyncapi_document("0.1.0"))
    broken["operations"]["serverFrames"]["action"] = "publish"  # AsyncAPI 2's word
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)
