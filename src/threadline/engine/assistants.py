"""Assistants: the graphs served, each with its runner, context schema and configuration.

A conversation keeps the assistant its first message chose (the first one served when it
chose none) and that message's `context` and `configurable`. Each turn's run gets:

- `context=`: for a graph with a `context_schema` (a dataclass, TypedDict or pydantic
  model), the schema built from the assistant's GRAPH_CONTEXT values overlaid by the
  conversation's, validated, never None (its defaults when nothing is given);
- `configurable`: the assistant's GRAPH_CONFIGURABLE values overlaid by the
  conversation's; the keys Threadline sets itself cannot be given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, get_type_hints

import pydantic
from typing_extensions import is_typeddict  # also knows typing_extensions.TypedDict

from threadline.engine.graph import MODEL_KEY
from threadline.engine.runner import TurnRunner
from threadline.engine.tools.knowledge import ATTACHED_DOCUMENTS

__all__ = ("Assistant", "Assistants", "ContextRefused", "ContextSchema", "RunOptions")

# What the runner puts in `configurable` itself, and LangGraph's own keys.
_RESERVED = frozenset(
    {
        "thread_id",
        "user_id",
        "reply_id",
        "checkpoint_id",
        "checkpoint_ns",
        MODEL_KEY,
        ATTACHED_DOCUMENTS,
    }
)


class ContextRefused(ValueError):
    """A context or configurable that does not fit the assistant; the message says why."""


class RunOptions(NamedTuple):
    """What one conversation's runs are given besides their inputs."""

    context: Any = None
    configurable: Mapping[str, Any] = {}


def _fields(schema: Any) -> frozenset[str] | None:
    """The keys a context schema takes, when it says (dataclass, TypedDict, pydantic)."""
    if dataclasses.is_dataclass(schema):
        return frozenset(field.name for field in dataclasses.fields(schema))
    if is_typeddict(schema):
        return frozenset(get_type_hints(schema))
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return frozenset(schema.model_fields)
    return None


def _reason(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "context"
    return f"{where}: {first['msg']}"


class ContextSchema:
    """A graph's `context_schema` (or none), and how values become its context."""

    def __init__(self, schema: Any = None) -> None:
        self._fields = _fields(schema) if schema is not None else None
        self._adapter = pydantic.TypeAdapter(schema) if schema is not None else None

    def build(self, values: Mapping[str, Any]) -> Any:
        """The context `values` make: the schema's instance (None for a graph without one).

        Raises:
            ContextRefused: An unknown key, a wrong or missing value, or any value at all
                for a graph without a schema.
        """
        if self._adapter is None:
            if values:
                raise ContextRefused("this assistant's graph takes no context")
            return None
        if self._fields is not None and (unknown := sorted(set(values) - self._fields)):
            known = ", ".join(sorted(self._fields)) or "none"
            raise ContextRefused(f"context has no key {unknown[0]!r} (it takes: {known})")
        try:
            return self._adapter.validate_python(dict(values))
        except pydantic.ValidationError as error:
            raise ContextRefused(_reason(error)) from None


class Assistant:
    """One graph served, under the id clients choose it by."""

    def __init__(
        self,
        assistant_id: str,
        runner: TurnRunner,
        context_schema: Any = None,
        *,
        context: Mapping[str, Any] | None = None,
        configurable: Mapping[str, Any] | None = None,
    ) -> None:
        self.assistant_id = assistant_id
        self.runner = runner
        self._schema = ContextSchema(context_schema)
        self._context = dict(context or {})
        self._configurable = dict(configurable or {})

    def options(
        self, context: Mapping[str, Any] | None, configurable: Mapping[str, Any] | None
    ) -> RunOptions:
        """The run options for a conversation that gave `context` and `configurable`.

        Raises:
            ContextRefused: They do not fit this assistant's graph.
        """
        return RunOptions(self.context_of(context), self.configurable_of(configurable))

    def configurable_of(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """The assistant's configurable values overlaid by `given`.

        Raises:
            ContextRefused: A key Threadline sets itself.
        """
        merged = {**self._configurable, **(given or {})}
        if reserved := sorted(_RESERVED.intersection(merged)):
            raise ContextRefused(f"configurable {reserved[0]!r} is set by Threadline")
        return merged

    def context_of(self, given: Mapping[str, Any] | None) -> Any:
        """The graph's context: its schema built from the assistant's values and `given`.

        Raises:
            ContextRefused: They do not fit the schema, or the graph takes no context.
        """
        return self._schema.build({**self._context, **(given or {})})


class Assistants:
    """The assistants served, the first being the default."""

    def __init__(self, assistants: list[Assistant]) -> None:
        self._by_id = {assistant.assistant_id: assistant for assistant in assistants}
        self.default = assistants[0]

    def get(self, assistant_id: str | None) -> Assistant | None:
        """The assistant of that id (None: the default); None if none has it."""
        return self.default if assistant_id is None else self._by_id.get(assistant_id)

    def __iter__(self) -> Iterator[Assistant]:
        """Every assistant, the default first."""
        return iter(self._by_id.values())

    @property
    def ids(self) -> list[str]:
        """Every assistant's id, the default first."""
        return list(self._by_id)
