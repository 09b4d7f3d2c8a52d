"""`threadline dev`: serves a project's `langgraph.json`, and reloads its graph when it changes.

Run as users run it: the command, in the project's directory (its `langgraph.json` found
there), on its own embedded PostgreSQL, which outlives the reloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from tests.polling import eventually
from tests.processes import THREADLINE, free_port, process_env, running, wait_ready
from tests.wsclient import connect

pytestmark = pytest.mark.anyio

_GRAPH = """
from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph

SAYS = "{says}"


async def answer(state: MessagesState) -> dict[str, list[AIMessage]]:
    return {{"messages": [AIMessage(f"{{SAYS}} {{len(state['messages'])}}")]}}


builder = StateGraph(MessagesState)
builder.add_node(answer)
builder.add_edge(START, "answer")
graph = builder.compile()
"""

_PRIVATE = "my private words"


def _project(root: Path) -> Path:
    project = root / "project"
    project.mkdir()
    (project / "langgraph.json").write_text(
        '{"graphs": {"echo": "./echo.py:graph"}, "env": ".env"}', encoding="utf-8"
    )
    (project / ".env").write_text("", encoding="utf-8")
    (project / "echo.py").write_text(_GRAPH.format(says="first"), encoding="utf-8")
    return project


def _served(log: Path, reloads: int) -> Callable[[], Awaitable[bool]]:
    """Whether the server process of the `reloads`-th reload (or a later one) is ready."""

    async def check() -> bool:
        text = await anyio.Path(log).read_text(encoding="utf-8", errors="replace")
        started = text.count("Reloading...")
        return started >= reloads and text.count('"event":"app.ready"') == started + 1

    return check


async def test_a_changed_graph_answers_the_next_turn_of_the_same_conversation(
    tmp_path: Path,
) -> None:
    project, port, log = _project(tmp_path), free_port(), tmp_path / "dev.log"
    # No DATABASE_URL: `threadline dev` starts the embedded PostgreSQL, once.
    env = process_env(tmp_path, port)
    address = f"127.0.0.1:{port}"
    # Stopping waits for the server process, then for the embedded PostgreSQL: generous.
    with running(env, project, log, THREADLINE, "dev", stop_within=60):
        # Generous: the embedded PostgreSQL and each server process start beside other tests.
        await eventually(_served(log, 0), within=120, every=0.2)
        await wait_ready(port)
        async with connect(address, "alice") as chat:
            first = await chat.turn(_PRIVATE)
        assert first.reply["content"] == "first 1"
        (project / "echo.py").write_text(_GRAPH.format(says="changed"), encoding="utf-8")
        await eventually(_served(log, 1), within=120, every=0.2)
        await wait_ready(port)
        async with connect(address, "alice") as chat:
            second = await chat.turn("again", first.ack["conversation_id"])
        # The new code answers, in the conversation the old code began: the database stayed.
        assert second.reply["content"] == "changed 3"
    output = log.read_text(encoding="utf-8", errors="replace")
    # Where everything is, printed once at start.
    assert f"http://{address}/" in output
    assert f"http://{address}/schema" in output
    assert f"ws://{address}/ws/" in output
    # DEBUG lines, but never what the user wrote.
    assert '"level":"debug"' in output
    assert _PRIVATE not in output
