"""The protocol reference (docs/websocket-protocol.md) names exactly the frames of the
AsyncAPI document, each in its direction, so the page and the code cannot drift."""

from __future__ import annotations

import re
from typing import Any

from tests.project import ROOT
from threadline.transport.asyncapi import asyncapi_document

PAGE = ROOT / "docs" / "websocket-protocol.md"


def _section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _documented(section: str) -> list[str]:
    """The frame types of the section's `| Frame |` table: each row's first cell is the
    type in backticks, or an example frame naming it (`{"type": "stop", …}`)."""
    table = section[section.index("\n| Frame |") :].split("\n\n", 1)[0]
    rows = table.strip().splitlines()[2:]
    types = []
    for row in rows:
        cell = row.split(" | ", 1)[0].removeprefix("| ")
        named = re.fullmatch(r'`\{"type": "(\w+)".*\}`|`(\w+)`', cell)
        assert named, f"a row of the Frame table names no frame type: {row}"
        types.append(named[1] or named[2])
    return types


def _in_document(operation: str) -> list[str]:
    document: dict[str, Any] = asyncapi_document("0")
    messages = document["components"]["messages"]
    refs = document["operations"][operation]["messages"]
    return [messages[ref["$ref"].rsplit("/", 1)[1]]["name"] for ref in refs]


def _check(heading: str, operation: str) -> None:
    documented = _documented(_section(PAGE.read_text(encoding="utf-8"), heading))
    frames = _in_document(operation)

    undocumented = sorted(set(frames) - set(documented))
    unknown = sorted(set(documented) - set(frames))
    assert not undocumented, f"in the AsyncAPI document, not under {heading!r}: {undocumented}"
    assert not unknown, f"under {heading!r}, not in the AsyncAPI document: {unknown}"
    assert len(documented) == len(set(documented)), f"a frame twice under {heading!r}"


def test_every_client_frame_is_documented_and_no_other() -> None:
    _check("Client → server", "clientFrames")


def test_every_server_frame_is_documented_and_no_other() -> None:
    _check("Server → client", "serverFrames")
