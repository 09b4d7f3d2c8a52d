"""THREADLINE_GRAPH: a graph of one's own (examples/word_count_agent.py) runs under
Threadline with its guarantees: tokens, tool frames, history, stop, resends, restarts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.processes import THREADLINE, free_port, process_env
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.app import create_app
from threadline.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio

EXAMPLE = "examples.word_count_agent:build"


def _custom(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, graph=EXAMPLE)


async def test_a_graph_of_ones_own_answers_with_its_tools_over_the_socket(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("word_count", {"text": "one two three"})])
    async with serve_threadline(_custom(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="How many words in 'one two three'?")
        frames = await chat.until("message")
        conversation_id = frames[0]["conversation_id"]
        kinds = [f["type"] for f in frames if f["type"] != "token"]
        assert kinds == ["ack", "tool_call", "tool_result", "message"]
        reply = frames[-1]
        assert reply["content"] == "Tools said: 3"
        tokens = [f for f in frames if f["type"] == "token"]
        assert "".join(t["delta"] for t in tokens) == "Tools said: 3"
        assert {t["message_id"] for t in tokens} == {reply["message_id"]}
        # The graph's own instructions reached the model, and the conversation goes on.
        assert fake_groq.requests[0]["messages"][0]["content"].startswith("You count words.")
        follow = await chat.turn("thanks", conversation_id)
        assert follow.reply["content"] == "Reply 3: thanks"
        history = await chat.history(conversation_id)
    assert [m["role"] for m in history] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert history[2]["content"] == "3"


async def test_a_graph_of_ones_own_can_be_stopped_and_survives_a_restart(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    custom = _custom(settings)
    fake_groq.default = Fault(token_delay=0.2)
    async with serve_threadline(custom) as address, connect(address, "alice") as chat:
        await chat.send(message="tell me a long story about counting words")
        started = await chat.until("token")
        conversation_id = started[0]["conversation_id"]
        await chat.send(type="stop", conversation_id=conversation_id)
        stopped = (await chat.until("message"))[-1]
        assert stopped["stopped"] is True
        assert stopped["message_id"] == started[-1]["message_id"]
    fake_groq.default = Fault()
    async with serve_threadline(custom) as address, connect(address, "alice") as chat:
        after = await chat.turn("go on", conversation_id)
        history = await chat.history(conversation_id)
    assert after.reply["content"].startswith("Reply ")
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[1]["stopped"] is True
    assert history[1]["content"] == stopped["content"]
    # The model saw the stopped reply before the new message.
    assert [m["role"] for m in fake_groq.requests[-1]["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


async def test_a_resend_gets_the_stored_answer_of_a_graph_of_ones_own(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(_custom(settings)) as address, connect(address, "alice") as chat:
        await chat.send(message="hello", client_message_id="m-1")
        first = (await chat.until("message"))[-1]
        await chat.send(
            message="hello", client_message_id="m-1", conversation_id=first["conversation_id"]
        )
        again = (await chat.until("message"))[-1]
    assert again["content"] == first["content"]
    assert len(fake_groq.requests) == 1


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("examples.nowhere:build", "cannot import 'examples.nowhere'"),
        ("examples.word_count_agent:nothing", "has no attribute 'nothing'"),
        ("no-colon", "is not of the form package.module:attribute"),
    ],
)
def test_a_graph_that_cannot_load_stops_start_up_in_one_line(spec: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        create_app(Settings(graph=spec))


def _threadline(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `threadline` from the project's root, where `examples` and `tests` import."""
    return subprocess.run(
        [THREADLINE],
        env=env,
        cwd=Path.cwd(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_names_the_graph_that_failed(tmp_path: Path) -> None:
    env = process_env(tmp_path, free_port(), THREADLINE_GRAPH="examples.nowhere:build")
    result = _threadline(env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "threadline: invalid setting THREADLINE_GRAPH: cannot import 'examples.nowhere': "
        "ModuleNotFoundError: No module named 'examples.nowhere'"
    )


async def test_a_graph_of_ones_own_can_keep_threadlines_bounded_context(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    bounded = msgspec.structs.replace(
        settings, graph="examples.long_memory_agent:build", context_tokens=300
    )
    said = [f"message {n}: " + " ".join(f"word{n}x{i}" for i in range(25)) for n in range(16)]
    async with serve_threadline(bounded) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn(said[0])).ack["conversation_id"]
        for text in said[1:]:
            await chat.turn(text, conversation_id)
        history = await chat.history(conversation_id)
    # The model was sent a bounded window and a summary, however long the conversation...
    assert fake_groq.summary_requests
    sizes = [sum(len(str(m["content"])) for m in r["messages"]) for r in fake_groq.requests]
    assert max(sizes[8:]) < 300 * 4
    assert any("SUMMARY#" in str(m["content"]) for m in fake_groq.requests[-1]["messages"])
    # ...and history still has every message, in order.
    assert [m["content"] for m in history if m["role"] == "user"] == said


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("tests.graphs:raises", "tests.graphs:raises failed: ValueError: the builder broke"),
        (
            "tests.graphs:not_a_graph",
            "tests.graphs:not_a_graph returned an int; accepted: a compiled graph, a StateGraph",
        ),
        (
            "tests.graphs:without_messages",
            "state has no messages: no key is reduced by add_messages",
        ),
    ],
)
def test_a_graph_that_fails_to_build_stops_start_up_saying_why(
    tmp_path: Path, database_url: str, spec: str, problem: str
) -> None:
    env = process_env(tmp_path, free_port(), DATABASE_URL=database_url, THREADLINE_GRAPH=spec)
    result = _threadline(env)
    assert result.returncode != 0
    failed = [
        msgspec.json.decode(line)
        for line in result.stderr.splitlines()
        if '"event":"startup.failed"' in line
    ]
    assert len(failed) == 1
    assert problem in failed[0]["detail"]
