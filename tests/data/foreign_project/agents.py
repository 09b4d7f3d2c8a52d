"""Graphs nobody here wrote, exported as their documentation shows: compiled at import.

LangGraph's `create_react_agent`, LangChain's `create_agent` (alone, and with
`HumanInTheLoopMiddleware`), a `langgraph-supervisor` team and a `langgraph-swarm`, each
a module-level compiled graph on a module-level Groq model, which finds (the fake) Groq
through the environment that `langgraph.json`'s `env` file sets.
"""

from __future__ import annotations

import warnings

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_groq import ChatGroq
from langgraph.prebuilt import create_react_agent
from langgraph.warnings import LangGraphDeprecatedSinceV10
from langgraph_supervisor import create_supervisor
from langgraph_swarm import create_handoff_tool, create_swarm

from tests.foreign_graphs import ALICE, BOB, MATH_EXPERT, SUPERVISOR, add, explode, nap
from tests.interrupt_graphs import transfer

model = ChatGroq(model="openai/gpt-oss-20b", max_retries=0)

# `create_react_agent` warns that it moved to `langchain.agents`; the suite turns warnings
# into errors, and these graphs are written as their authors wrote them.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", LangGraphDeprecatedSinceV10)

    react = create_react_agent(model, [add, explode, nap])

    assistant = create_agent(model, tools=[add, explode])

    approving = create_agent(
        model,
        tools=[transfer],
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"transfer": True})],
    )

    math_expert = create_react_agent(model, [add], name="math_expert", prompt=MATH_EXPERT)
    supervisor = create_supervisor([math_expert], model=model, prompt=SUPERVISOR).compile()

    alice = create_react_agent(
        model, [create_handoff_tool(agent_name="bob")], name="alice", prompt=ALICE
    )
    bob = create_react_agent(
        model, [add, create_handoff_tool(agent_name="alice")], name="bob", prompt=BOB
    )
    swarm = create_swarm([alice, bob], default_active_agent="alice").compile()
