"""Bring your own graph: `THREADLINE_GRAPH=package.module:function`.

The function builds an uncompiled LangGraph `StateGraph`; Threadline compiles it with its
checkpointer and store and runs every turn through it.

The function is called once, at start-up, with the keyword arguments it declares among
`model` (the configured chat model), `store` (the `AsyncPostgresStore`) and `settings`.
Its state (a TypedDict, a dataclass or a pydantic model) must keep its messages in a key
reduced by `add_messages`, under any name (`MessagesState` has `messages`). Anything wrong
stops start-up with one line naming THREADLINE_GRAPH.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from threadline.engine.channels import messages_key
from threadline.settings import Settings, SettingsError

__all__ = ("compile_custom_graph", "load_builder")

_OFFERED = ("model", "store", "settings")


def _fail(detail: str) -> SettingsError:
    return SettingsError(f"invalid setting THREADLINE_GRAPH: {detail}")


def load_builder(spec: str) -> Any:
    """The function `spec` (`package.module:function`) names.

    Raises:
        SettingsError: It cannot be imported, or is not a function.
    """
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise _fail(f"{spec!r} is not of the form package.module:function")
    # As uvicorn does for its app: modules in the working directory can be named.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any failure of user code is one start-up line
        raise _fail(f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    builder = getattr(module, function_name, None)
    if not callable(builder):
        raise _fail(f"{module_name!r} has no function {function_name!r}")
    return builder


def compile_custom_graph(
    spec: str,
    *,
    model: BaseChatModel,
    store: BaseStore,
    settings: Settings,
    checkpointer: BaseCheckpointSaver[Any],
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the graph `spec` names and compile it with Threadline's checkpointer and store.

    Raises:
        SettingsError: The function fails, returns something other than a `StateGraph`, or
            its state has no messages.
    """
    builder = load_builder(spec)
    offered = {"model": model, "store": store, "settings": settings}
    wanted = inspect.signature(builder).parameters
    try:
        graph = builder(**{name: offered[name] for name in _OFFERED if name in wanted})
    except Exception as error:  # noqa: BLE001 - any failure of user code is one start-up line
        raise _fail(f"{spec} failed: {type(error).__name__}: {error}") from None
    if not isinstance(graph, StateGraph):
        raise _fail(f"{spec} must return an uncompiled StateGraph, not {type(graph).__name__}")
    if messages_key(graph.channels) is None:
        raise _fail(f"{spec}'s state has no messages: no key is reduced by add_messages")
    try:
        return graph.compile(checkpointer=checkpointer, store=store)
    except Exception as error:  # noqa: BLE001 - any failure of user code is one start-up line
        raise _fail(f"{spec} does not compile: {type(error).__name__}: {error}") from None
