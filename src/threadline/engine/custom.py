"""Graphs of one's own: what THREADLINE_GRAPH or a `langgraph.json` entry names.

A name is `package.module:attribute` or `path/to/file.py:attribute` (a file path is read
relative to the `langgraph.json` that names it). The attribute is what a LangGraph server
accepts: a compiled graph, an uncompiled `StateGraph`, or a function returning either.
A function is called once, at start-up, with the arguments it declares among `config`
(the assistant's configuration: `{"configurable": {...}}`), `model` (the configured chat
model), `store` (the `AsyncPostgresStore`) and `settings`.

An uncompiled graph is compiled with Threadline's checkpointer and store; a compiled one
is copied with them put in, keeping its own compile-time options (`interrupt_before`,
`interrupt_after`, its name), as the LangGraph server does. Its state (a TypedDict, a dataclass or a
pydantic model) must keep its messages in a key reduced by `add_messages`, under any name
(`MessagesState` has `messages`). Anything wrong stops start-up with one line
naming the setting.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from threadline.engine.channels import messages_key
from threadline.settings import SettingsError

__all__ = ("GraphSource", "compile_source", "load_builder", "load_source")

# What a function may ask for by name, besides `config`.
_OFFERED = ("model", "store", "settings")
_ACCEPTED = "a compiled graph, a StateGraph or a function returning one"


class GraphSource(NamedTuple):
    """A graph as named: its assistant id, the name as written and what it names."""

    assistant_id: str
    spec: str
    target: Any
    setting: str  # the variable that named it, for error lines


def _fail(setting: str, detail: str) -> SettingsError:
    return SettingsError(f"invalid setting {setting}: {detail}")


def _kind(value: object) -> str:
    """What `value` is, for a message: "an int", "a dict"."""
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _import_file(path: Path, setting: str, spec: str) -> Any:
    """The module at `path`, registered under a name of its own (dataclasses need one)."""
    name = "threadline_graph_" + re.sub(r"\W", "_", str(path.with_suffix("")))
    if name in sys.modules:
        return sys.modules[name]
    loader = importlib.util.spec_from_file_location(name, path)
    if loader is None or loader.loader is None or not path.is_file():
        raise _fail(setting, f"cannot import {spec.partition(':')[0]!r}: no such file")
    module = importlib.util.module_from_spec(loader)
    sys.modules[name] = module
    try:
        loader.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import(where: str, base: Path | None, setting: str, spec: str) -> Any:
    try:
        if where.endswith(".py"):
            return _import_file((base or Path.cwd()) / where, setting, spec)
        return importlib.import_module(where)
    except SettingsError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure of user code is one start-up line
        raise _fail(setting, f"cannot import {where!r}: {type(error).__name__}: {error}") from None


def load_source(
    assistant_id: str, spec: str, *, setting: str, base: Path | None = None
) -> GraphSource:
    """Import what `spec` names and check that it is a kind of graph served.

    Raises:
        SettingsError: It cannot be imported, or is something else.
    """
    where, _, attribute = spec.rpartition(":")
    if not where or not attribute:
        raise _fail(setting, f"{spec!r} is not of the form package.module:attribute")
    # As uvicorn does for its app: modules in the working directory can be named.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = _import(where, base, setting, spec)
    if not hasattr(module, attribute):
        raise _fail(setting, f"{where!r} has no attribute {attribute!r}")
    target = getattr(module, attribute)
    if not isinstance(target, StateGraph | CompiledStateGraph) and not callable(target):
        raise _fail(setting, f"{spec} is {_kind(target)}; accepted: {_ACCEPTED}")
    return GraphSource(assistant_id, spec, target, setting)


def load_builder(spec: str) -> GraphSource:
    """What THREADLINE_GRAPH names (`package.module:function`), as the one assistant."""
    return load_source("graph", spec, setting="THREADLINE_GRAPH")


def _call(source: GraphSource, offered: dict[str, Any], config: RunnableConfig) -> Any:
    """Call a function that builds the graph with what it asks for."""
    wanted = inspect.signature(source.target).parameters
    given = {name: offered[name] for name in _OFFERED if name in wanted}
    if "config" in wanted:
        given["config"] = config
    missing = [
        name
        for name, parameter in wanted.items()
        if name not in given
        and parameter.default is inspect.Parameter.empty
        and parameter.kind not in {parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD}
    ]
    if missing == [*wanted][:1] and len(missing) == 1:
        return source.target(config)  # one argument of another name: the config, as LangGraph
    if missing:
        accepted = ", ".join(("config", *_OFFERED))
        raise _fail(source.setting, f"{source.spec} asks for {missing[0]!r}; offered: {accepted}")
    return source.target(**given)


async def compile_source(
    source: GraphSource,
    *,
    offered: dict[str, Any],
    config: RunnableConfig,
    checkpointer: BaseCheckpointSaver[Any],
    store: BaseStore,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The graph `source` names, with Threadline's checkpointer and store.

    Raises:
        SettingsError: A function fails or returns something else, the state has no
            messages, or the graph does not compile.
    """
    graph = source.target
    spec, setting = source.spec, source.setting
    if not isinstance(graph, StateGraph | CompiledStateGraph):
        try:
            graph = _call(source, offered, config)
            if inspect.isawaitable(graph):
                graph = await graph
        except SettingsError:
            raise
        except Exception as error:  # noqa: BLE001 - any failure of user code is one start-up line
            raise _fail(setting, f"{spec} failed: {type(error).__name__}: {error}") from None
        if not isinstance(graph, StateGraph | CompiledStateGraph):
            raise _fail(setting, f"{spec} returned {_kind(graph)}; accepted: {_ACCEPTED}")
    channels = graph.channels if isinstance(graph, StateGraph) else graph.builder.channels
    if messages_key(channels) is None:
        raise _fail(setting, f"{spec}'s state has no messages: no key is reduced by add_messages")
    if isinstance(graph, CompiledStateGraph):
        return graph.copy(update={"checkpointer": checkpointer, "store": store})
    try:
        return graph.compile(checkpointer=checkpointer, store=store)
    except Exception as error:  # noqa: BLE001 - any failure of user code is one start-up line
        raise _fail(setting, f"{spec} does not compile: {type(error).__name__}: {error}") from None
