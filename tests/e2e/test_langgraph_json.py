"""LANGGRAPH_CONFIG: a project's `langgraph.json` served as it is, over real sockets.

The project (tests/data/react_style) names two graphs, in the style of LangChain's
`react-agent` template: a compiled module-level `graph` and a factory taking `config`. Its
`env` file is how its graphs find (the fake) Groq; its `dependencies` make its package
importable. Each graph is an assistant, chosen by the first message's `assistant_id`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.processes import THREADLINE, free_port, process_env
from tests.project import ROOT
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.app import create_app
from threadline.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio

_GROQ_VARIABLES = ("GROQ_API_KEY", "GROQ_API_BASE")


@pytest.fixture
def project_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the react-style project, its `.env` pointing nowhere yet."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "data" / "react_style", copy)
    _groq_at(copy, "http://127.0.0.1:9")
    for name in _GROQ_VARIABLES:  # unset here (the env file sets them), restored after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return copy


@pytest.fixture
def project(project_files: Path, fake_groq: FakeGroq) -> Path:
    """The project, its `.env` pointing at the fake Groq."""
    _groq_at(project_files, fake_groq.url)
    return project_files


def _groq_at(project: Path, url: str) -> None:
    env = f"GROQ_API_KEY=gsk_test_key_not_real\nGROQ_API_BASE={url}\n"
    (project / ".env").write_text(env, encoding="utf-8")


def _served(settings: Settings, project: Path, **extra: Any) -> Settings:
    return msgspec.structs.replace(
        settings,
        langgraph_config=str(project / "langgraph.json"),
        graph_context=json.dumps({"agent": {"model": "model-from-settings"}}),
        graph_configurable=json.dumps({"planner": {"style": "three"}}),
        **extra,
    )


def _system(request: dict[str, Any]) -> str:
    content: str = request["messages"][0]["content"]
    return content


async def test_each_graph_answers_as_the_assistant_the_first_message_chose(
    settings: Settings, fake_groq: FakeGroq, project: Path
) -> None:
    served = _served(settings, project)
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        await chat.send(message="plan my week", assistant_id="planner")
        planned = await chat.collect()
        planner_id = planned.ack["conversation_id"]
        # Tokens stream from a graph of the project's, through its messages stream.
        assert len(planned.tokens) > 1
        assert planned.streamed == planned.reply["content"] == "Reply 1: plan my week"
        # The factory got the assistant's configurable; the node, the context's defaults.
        assert _system(fake_groq.requests[-1]) == (
            "Plan in three steps. You are a helpful AI assistant."
        )
        assert fake_groq.requests[-1]["model"] == "openai/gpt-oss-20b"
        # The conversation remembers its assistant: no `assistant_id` needed after.
        await chat.turn("and the weekend?", planner_id)
        assert _system(fake_groq.requests[-1]).startswith("Plan in three steps.")
        # A first message's `configurable` reaches the run, over the assistant's.
        await chat.send(message="plan", assistant_id="planner", configurable={"style": "five"})
        await chat.collect()
        assert _system(fake_groq.requests[-1]).startswith("Plan in five steps.")

        context = {"system_prompt": "You are terse."}
        await chat.send(message="hello", assistant_id="agent", context=context)
        agent = await chat.collect()
        # The context of the first message reaches `runtime.context`, over the settings'.
        assert _system(fake_groq.requests[-1]) == "You are terse."
        assert fake_groq.requests[-1]["model"] == "model-from-settings"
        agent_id = agent.ack["conversation_id"]
        assert agent_id != planner_id
    # After a restart, both conversations go on with their assistant and context.
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        again = await chat.turn("still there?", agent_id)
        assert _system(fake_groq.requests[-1]) == "You are terse."
        assert fake_groq.requests[-1]["model"] == "model-from-settings"
        assert [m["role"] for m in fake_groq.requests[-1]["messages"]] == [
            "system",
            "user",
            "assistant",
            "user",
        ]
        await chat.turn("next step?", planner_id)
        assert _system(fake_groq.requests[-1]).startswith("Plan in three steps.")
        history = await chat.history(agent_id)
    assert [m["content"] for m in history] == [
        "hello",
        agent.reply["content"],
        "still there?",
        again.reply["content"],
    ]


async def test_without_an_assistant_id_the_first_graph_answers(
    settings: Settings, fake_groq: FakeGroq, project: Path
) -> None:
    async with (
        serve_threadline(_served(settings, project)) as address,
        connect(address, "alice") as chat,
    ):
        await chat.turn("hi")
    assert _system(fake_groq.requests[-1]) == "You are a helpful AI assistant."


@pytest.mark.parametrize(
    ("frame", "code", "detail"),
    [
        ({"assistant_id": "nobody"}, "unknown_assistant", "'nobody'"),
        ({"context": {"model": 5}}, "invalid_context", "model"),
        ({"context": {"temperature": 0.1}}, "invalid_context", "temperature"),
        ({"context": ["not", "an", "object"]}, "invalid_frame", "context"),
        ({"configurable": {"thread_id": "someone-elses"}}, "invalid_context", "thread_id"),
    ],
)
async def test_a_first_message_that_does_not_fit_its_assistant_is_refused(
    settings: Settings,
    fake_groq: FakeGroq,
    project: Path,
    frame: dict[str, Any],
    code: str,
    detail: str,
) -> None:
    async with (
        serve_threadline(_served(settings, project)) as address,
        connect(address, "alice") as chat,
    ):
        refused = await chat.error(message="hello", **frame)
        assert refused["code"] == code
        assert detail in refused["detail"]
        # Nothing was stored, nothing was asked of the model; the socket goes on.
        await chat.send(type="history", conversation_id="none")
        assert (await chat.receive())["code"] == "conversation_not_found"
    assert fake_groq.requests == []


async def test_the_built_in_agent_takes_no_context(settings: Settings, fake_groq: FakeGroq) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        refused = await chat.error(message="hello", context={"model": "x"})
        assert refused["code"] == "invalid_context"
        # Its one assistant may be named, though.
        await chat.send(message="hello", assistant_id="threadline")
        assert (await chat.collect()).reply["content"].startswith("Reply 1")


def _config(project: Path, change: dict[str, Any]) -> str:
    path = project / "langgraph.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(change)
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"auth": {"path": "auth.py:auth"}}, "'auth' is not supported"),
        ({"http": {"app": "app.py:app"}}, "'http' is not supported"),
        ({"graphs": {"n": "tests.graphs:NUMBER"}}, "tests.graphs:NUMBER is an int"),
        ({"graphs": {"n": "tests.graphs:nothing"}}, "has no attribute 'nothing'"),
        ({"graphs": {"n": "./nowhere.py:graph"}}, "cannot import './nowhere.py'"),
        ({"graphs": {}}, "'graphs' names no graph"),
        ({"env": "missing.env"}, "env file 'missing.env' does not exist"),
    ],
)
def test_what_cannot_be_served_stops_start_up_in_one_line(
    project_files: Path, change: dict[str, Any], problem: str
) -> None:
    config = _config(project_files, change)
    with pytest.raises(SettingsError, match="invalid setting LANGGRAPH_CONFIG") as raised:
        create_app(Settings(langgraph_config=config))
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_graph_context_for_no_assistant_stops_start_up(project_files: Path) -> None:
    config = str(project_files / "langgraph.json")
    with pytest.raises(SettingsError, match="invalid setting GRAPH_CONTEXT: no assistant 'x'"):
        create_app(Settings(langgraph_config=config, graph_context='{"x": {}}'))


def test_a_graph_context_that_does_not_fit_its_graph_stops_start_up(
    tmp_path: Path, database_url: str, project_files: Path
) -> None:
    env = process_env(
        tmp_path,
        free_port(),
        DATABASE_URL=database_url,
        LANGGRAPH_CONFIG=str(project_files / "langgraph.json"),
        GRAPH_CONTEXT=json.dumps({"agent": {"model": 1}}),
    )
    result = subprocess.run(
        [THREADLINE],
        env=env,
        cwd=project_files,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    failed = [line for line in result.stderr.splitlines() if "startup.failed" in line]
    assert len(failed) == 1
    detail = msgspec.json.decode(failed[0])["detail"]
    assert detail == ("invalid setting GRAPH_CONTEXT: agent: model: Input should be a valid string")


_KINDS = """
from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph


async def answer(state: MessagesState) -> dict[str, list[AIMessage]]:
    return {"messages": [AIMessage(f"answered {state['messages'][-1].text}")]}


builder = StateGraph(MessagesState)
builder.add_node(answer)
builder.add_edge(START, "answer")


def compiled():
    return builder.compile()


async def uncompiled(config):
    return builder


def given(cfg):
    assert cfg["configurable"] == {}
    return builder.compile()
"""


async def test_every_kind_a_graphs_entry_may_name_answers(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "kinds.py").write_text(_KINDS, encoding="utf-8")
    names = ("builder", "compiled", "uncompiled", "given")
    graphs = {name: f"./kinds.py:{name}" for name in names}
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    served = msgspec.structs.replace(settings, langgraph_config=str(config))
    async with serve_threadline(served) as address, connect(address, "alice") as chat:
        for name in names:
            await chat.send(message=f"hi {name}", assistant_id=name)
            assert (await chat.collect()).reply["content"] == f"answered hi {name}"
