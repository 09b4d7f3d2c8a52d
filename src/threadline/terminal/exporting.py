"""`/export [json|markdown] [PATH]`: the open conversation, through the REST export.

The server writes the export (`GET …/conversations/{id}/export?format=`); the client only
fetches it and puts it in a file, or on the screen when no path is given (or `-`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import httpx
import msgspec

from threadline.terminal.connection import Target
from threadline.terminal.screen import Screen

__all__ = ("Export", "ExportFailed", "export", "fetch", "parse_export", "write")

_FORMATS = {"json": "json", "markdown": "markdown", "md": "markdown"}
_TIMEOUT = 30.0  # seconds: a long conversation's export is written by the server at once


class Export(NamedTuple):
    """What `/export` asks for: a format, and a file (None: the screen)."""

    format: str
    path: str | None


class ExportFailed(Exception):
    """The export could not be fetched or written: a code and what went wrong."""

    def __init__(self, code: str, detail: str) -> None:
        """Keep the code and detail, as the screen shows an error."""
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


async def export(target: Target, screen: Screen, conversation_id: str, argument: str) -> None:
    """Carry out `/export ARGUMENT` for the open conversation, and say how it went."""
    asked = parse_export(argument)
    try:
        text = await fetch(target, conversation_id, asked.format)
        if asked.path is None:
            screen.text(text)
            return
        where = await write(asked.path, text)
    except ExportFailed as failed:
        screen.error(failed.code, failed.detail)
        return
    screen.note(f"exported to {where}")


def parse_export(argument: str) -> Export:
    """Read `[json|markdown] [PATH]`: JSON unless a format is named; `-` is the screen."""
    first, _, rest = argument.partition(" ")
    if first.lower() in _FORMATS:
        chosen, path = _FORMATS[first.lower()], rest.strip()
    else:
        chosen, path = "json", argument.strip()
    return Export(chosen, None if path in {"", "-"} else path)


async def fetch(target: Target, conversation_id: str, chosen: str) -> str:
    """The conversation as the server exports it, in format `chosen`.

    Raises:
        ExportFailed: The server is out of reach or refused (its code and detail).
    """
    user, conversation = quote(target.user, safe=""), quote(conversation_id, safe="")
    url = f"{target.http_url}/users/{user}/conversations/{conversation}/export"
    try:
        async with httpx.AsyncClient(headers=target.headers, timeout=_TIMEOUT) as http:
            response = await http.get(url, params={"format": chosen})
    except httpx.HTTPError as error:
        raise ExportFailed("unreachable", str(error) or type(error).__name__) from None
    if not response.is_success:
        try:
            body = msgspec.json.decode(response.content)
            code, detail = body.get("code", ""), body.get("detail", "")
        except (msgspec.DecodeError, AttributeError):
            code, detail = "", response.reason_phrase
        raise ExportFailed(code or str(response.status_code), detail)
    return response.text


async def write(path: str, text: str) -> Path:
    """Write `text` to `path` (`~` expanded), off the event loop; returns where it went.

    Raises:
        ExportFailed: The file could not be written (a missing folder, no permission).
    """
    try:
        return await asyncio.to_thread(_write, path, text)
    except OSError as error:
        raise ExportFailed("export_failed", f"{path}: {error.strerror or error}") from None


def _write(path: str, text: str) -> Path:
    where = Path(path).expanduser()
    where.write_text(text, encoding="utf-8")
    return where
