"""Which graphs are served: a `langgraph.json`'s, THREADLINE_GRAPH's, or none (built-in).

`graph_sources` runs in `create_app`, before anything is opened: the config is read, its
`env` and `dependencies` applied, and each graph imported, so a mistake stops start-up at
once in one line. `build_assistants` runs once storage is open: functions are called,
graphs compiled with Threadline's checkpointer and store, and the per-assistant settings
checked against each graph's context schema.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from threadline.engine.assistants import Assistant, ContextRefused
from threadline.engine.custom import GraphSource, compile_source, load_builder, load_source
from threadline.engine.langgraph_json import (
    apply_config,
    config_path,
    per_assistant,
    read_config,
)
from threadline.engine.runner import TurnRunner
from threadline.settings import Settings, SettingsError

__all__ = ("BUILTIN_ASSISTANT", "build_assistants", "graph_sources")

# The id of the built-in agent, the one assistant when no graph is configured.
BUILTIN_ASSISTANT = "threadline"


def graph_sources(settings: Settings) -> list[GraphSource]:
    """The graphs to serve, imported; empty for the built-in agent.

    Raises:
        SettingsError: One line: the config, a graph, or GRAPH_CONTEXT/CONFIGURABLE.
    """
    path = config_path(settings.langgraph_config, settings.graph)
    if path is not None:
        config = read_config(path)
        apply_config(config)
        base = config.path.resolve().parent
        setting = "LANGGRAPH_CONFIG"
        sources = [
            load_source(graph.assistant_id, graph.spec, setting=setting, base=base)
            for graph in config.graphs
        ]
    elif settings.graph is not None:
        sources = [load_builder(settings.graph)]
    else:
        sources = []
    ids = [source.assistant_id for source in sources]
    for setting, text in _per_assistant_settings(settings):
        for name in per_assistant(text, setting):
            if name not in ids:
                served = "the built-in agent takes none" if not ids else f"served: {ids}"
                raise SettingsError(f"invalid setting {setting}: no assistant {name!r} ({served})")
    return sources


def _per_assistant_settings(settings: Settings) -> list[tuple[str, str | None]]:
    return [
        ("GRAPH_CONTEXT", settings.graph_context),
        ("GRAPH_CONFIGURABLE", settings.graph_configurable),
    ]


async def build_assistants(  # noqa: PLR0913 - the parts graphs are built with, each named
    sources: list[GraphSource],
    settings: Settings,
    *,
    model: BaseChatModel,
    model_name: str,
    checkpointer: BaseCheckpointSaver[Any],
    store: BaseStore,
) -> list[Assistant]:
    """Compile each graph and wrap it as an assistant with its runner.

    Raises:
        SettingsError: A graph cannot be built, or its settings do not fit it.
    """
    contexts = per_assistant(settings.graph_context, "GRAPH_CONTEXT")
    configurables = per_assistant(settings.graph_configurable, "GRAPH_CONFIGURABLE")
    offered = {"model": model, "store": store, "settings": settings}
    assistants = []
    for source in sources:
        name = source.assistant_id
        configurable = configurables.get(name, {})
        config: RunnableConfig = {"configurable": dict(configurable)}
        graph = await compile_source(
            source, offered=offered, config=config, checkpointer=checkpointer, store=store
        )
        runner = TurnRunner(
            graph,
            model_name,
            settings.turn_timeout,
            builtin=False,
            context_tokens=settings.context_tokens,
        )
        assistant = Assistant(
            name,
            runner,
            graph.context_schema,
            context=contexts.get(name),
            configurable=configurable,
        )
        _check(assistant)
        assistants.append(assistant)
    return assistants


def _check(assistant: Assistant) -> None:
    """The assistant's own settings fit its graph, or start-up stops saying why."""
    name = assistant.assistant_id
    for setting, check in (
        ("GRAPH_CONTEXT", assistant.context_of),
        ("GRAPH_CONFIGURABLE", assistant.configurable_of),
    ):
        try:
            check(None)
        except ContextRefused as error:
            raise SettingsError(f"invalid setting {setting}: {name}: {error}") from None
