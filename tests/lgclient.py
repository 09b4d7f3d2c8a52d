"""LangChain's own LangGraph client, pointed at a served Threadline."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

__all__ = ("GRAPH_NAMESPACE", "client", "rest")

# The LangGraph server's namespace for assistant ids made from graph names.
GRAPH_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def client(address: str, user: str | None = None) -> LangGraphClient:
    """An SDK client as a script would make one; `user` names the user (AUTH_MODE=none)."""
    headers = {"X-Threadline-User": user} if user else None
    return get_client(url=f"http://{address}", api_key=None, headers=headers)


async def rest(address: str, path: str) -> Any:
    """The JSON answer of a REST `GET` (which must succeed)."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}{path}")
    assert response.status_code == 200, response.text
    return response.json()
