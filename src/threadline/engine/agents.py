"""Several agents in one graph: specialists declared in a file, and the router between them.

Each turn, before the first answer, the router asks the model which specialist should
answer the user's newest message; that specialist (its system prompt, its tools, its
model) answers the whole turn, tool steps included. With one specialist there is no
router, and no extra model call.

`AGENTS` names a JSON file: `{"agents": [{"name", "description", "system_prompt"?,
"tools"?: [names] (default: every tool), "model"?}]}`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langgraph.constants import TAG_NOSTREAM

from threadline.engine.context import tokens_spent
from threadline.llm.prompts import ROUTER_INSTRUCTION
from threadline.settings import SettingsError

__all__ = ("AgentSpec", "read_agents", "route")


class AgentSpec(NamedTuple):
    """A specialist as declared: who it is, what it is for, and what it may use."""

    name: str
    description: str
    system_prompt: str | None = None  # None: SYSTEM_PROMPT
    tools: tuple[str, ...] | None = None  # None: every tool offered
    model: str | None = None  # None: GROQ_MODEL


def read_agents(path: str) -> list[AgentSpec]:
    """The specialists the file at `path` declares.

    Raises:
        SettingsError: It cannot be read, declares none, or repeats a name.
    """
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["agents"]
        agents = [_spec(entry) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"invalid setting AGENTS: {path}: {type(error).__name__}: {error}"
        raise SettingsError(msg) from None
    names = [agent.name for agent in agents]
    if not agents or len(set(names)) != len(names):
        msg = f"invalid setting AGENTS: {path}: declare one or more agents, each named once"
        raise SettingsError(msg)
    return agents


def _spec(entry: dict[str, Any]) -> AgentSpec:
    tools = entry.get("tools")
    return AgentSpec(
        name=str(entry["name"]),
        description=str(entry["description"]),
        system_prompt=entry.get("system_prompt"),
        tools=None if tools is None else tuple(str(t) for t in tools),
        model=entry.get("model"),
    )


def _menu(agents: Sequence[AgentSpec], offered: Sequence[str]) -> str:
    lines = []
    for agent in agents:
        tools = ", ".join(agent.tools if agent.tools is not None else offered) or "none"
        lines.append(f"- {agent.name}: {agent.description} (tools: {tools})")
    return "\n".join(lines)


async def route(
    model: BaseChatModel,
    agents: Sequence[AgentSpec],
    offered: Sequence[str],
    window: Sequence[AnyMessage],
) -> tuple[str, int]:
    """The specialist for the user's newest message, and the tokens the choice took.

    The model answers with a name; an answer naming none of them picks the first.
    """
    question = next((m for m in reversed(window) if isinstance(m, HumanMessage)), None)
    prompt = [
        SystemMessage(f"{ROUTER_INSTRUCTION}\n{_menu(agents, offered)}"),
        HumanMessage(str(question.text) if question else ""),
    ]
    # Never streamed: the built-in graph streams only its answer's tokens, and TAG_NOSTREAM
    # keeps the call out of LangGraph's messages stream too.
    answer = await model.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]}, max_tokens=16)
    said = str(answer.text).casefold()
    chosen = next((a.name for a in agents if a.name.casefold() in said), agents[0].name)
    return chosen, tokens_spent(prompt, answer)
