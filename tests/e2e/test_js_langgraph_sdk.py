"""LangChain's JavaScript SDK (`@langchain/langgraph-sdk`, from npm, run with node) against a
served Threadline: the calls `useStream` and agent-chat-ui make."""

from __future__ import annotations

import pytest

from tests.lgclient import rest
from tests.nodejs import run_node
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_the_js_sdk_finds_the_assistant_and_makes_threads_the_page_lists(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        seen = await run_node("langgraph_threads.mjs", THREADLINE_URL=f"http://{address}")
        assert seen["graphs"] == ["threadline"]
        assert seen["status"] == "idle"
        assert seen["found"] == [seen["thread_id"]]
        assert seen["missing"] == 404
        # The thread is a conversation of `local` (AUTH_MODE=none, no user header).
        listed = await rest(address, "/users/local/conversations")
        assert seen["thread_id"] in [c["conversation_id"] for c in listed["items"]]
