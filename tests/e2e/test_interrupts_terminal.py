"""`threadline chat` prints a graph's question (LangGraph's `interrupt`) and answers it with
`/respond`, or drops it with `/cancel`; reopened later, it shows what still waits."""

from __future__ import annotations

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.interrupt_graphs import QUESTION
from tests.serving import serve_threadline
from tests.terminal import terminal
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

CONVERSATION = r"\[conversation ([A-Za-z0-9_-]+)\]"


async def test_a_question_is_printed_answered_reopened_and_cancelled(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    asking = msgspec.structs.replace(settings, graph="tests.interrupt_graphs:ask_string")
    async with serve_threadline(asking) as address:
        async with terminal("--url", f"ws://{address}") as term:
            await term.wait_for("> ")
            term.type("transfer $5 to bob")
            conversation = (await term.wait_for_match(CONVERSATION)).group(1)
            await term.wait_for(f"[asks: {QUESTION}]")
            await term.wait_for("> ")
            term.type("/respond yes, go ahead")
            await term.wait_for('Reply 1: The user answered: "yes, go ahead"')
            await term.wait_for("> ")
            term.type("/respond once more")
            await term.wait_for("[no question waits for your answer]")
            term.type("transfer $5 more")
            await term.wait_for(f"[asks: {QUESTION}]")
            await term.wait_for("> ")
            term.type("/quit")
            assert await term.exit_status() == 0
        # Reopened, it shows what waits, and the question can be dropped.
        async with terminal("--url", f"ws://{address}", "--conversation", conversation) as again:
            await again.wait_for(f"[asks: {QUESTION}]")
            await again.wait_for("> ")
            again.type("hello?")
            await again.wait_for("error approval_pending")
            again.type("/cancel")
            await again.wait_for("[stopped]")
            await again.wait_for("> ")
            again.type("hello")
            await again.wait_for("Reply 2: hello")
            await again.wait_for("> ")
            again.type("/quit")
            assert await again.exit_status() == 0
