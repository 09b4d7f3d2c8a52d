"""The graphs Threadline serves, as the LangGraph API's assistants: one per graph.

`ServedGraph` is the seam: each graph served by name (the assistants of
`engine/assistants`: the built-in agent `threadline`, THREADLINE_GRAPH's `graph`, or a
`langgraph.json`'s graphs by their names). An assistant's id is made from its graph's
name as the LangGraph server makes it (a UUID v5 in the same namespace), so it is the
same on every server and after every restart, and clients may pass either.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec

from threadline.chat.langgraph_api.snapshots import jsonable
from threadline.engine.runner import AnyGraph

__all__ = ("AssistantView", "GraphSchemas", "ServedAssistants", "ServedGraph")

logger = logging.getLogger(__name__)

# The LangGraph server's namespace for assistant ids made from graph names.
_GRAPH_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
# Served graphs are not created by anyone: they exist since this fixed moment.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class ServedGraph(NamedTuple):
    """A graph served under a name (`graph_id`)."""

    name: str
    graph: AnyGraph
    description: str | None = None


class AssistantView(msgspec.Struct, kw_only=True):
    """An assistant as the LangGraph server shows it."""

    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    version: int
    name: str
    description: str | None


class GraphSchemas(msgspec.Struct, kw_only=True):
    """A graph's JSON schemas; null where the graph's types have none."""

    graph_id: str
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    state_schema: dict[str, Any] | None
    config_schema: dict[str, Any] | None
    context_schema: dict[str, Any] | None


def assistant_id(graph_name: str) -> str:
    """The assistant id of the graph named `graph_name`."""
    return str(uuid.uuid5(_GRAPH_NAMESPACE, graph_name))


def _schema(make: Any) -> dict[str, Any] | None:
    try:
        schema = make()
    except Exception as error:  # noqa: BLE001 - a graph's types may have no JSON schema
        logger.info("assistant.no_schema", extra={"error": type(error).__name__})
        return None
    return schema if isinstance(schema, dict) else None


class ServedAssistants:
    """The served graphs, found by assistant id or by graph name."""

    def __init__(self, graphs: Sequence[ServedGraph]) -> None:
        self._graphs = list(graphs)

    def _view(self, served: ServedGraph) -> AssistantView:
        return AssistantView(
            assistant_id=assistant_id(served.name),
            graph_id=served.name,
            config={},
            context={},
            created_at=_EPOCH,
            updated_at=_EPOCH,
            metadata={"created_by": "system"},
            version=1,
            name=served.name,
            description=served.description,
        )

    def search(
        self, graph_id: str | None, name: str | None, metadata: dict[str, Any]
    ) -> list[AssistantView]:
        """The assistants of that graph and name, whose metadata contains `metadata`."""
        views = [self._view(served) for served in self._graphs]
        return [
            view
            for view in views
            if graph_id in (None, view.graph_id)
            and name in (None, view.name)
            and metadata.items() <= view.metadata.items()
        ]

    def find(self, assistant: str) -> ServedGraph | None:
        """The graph an assistant id, or a graph name, stands for."""
        return next((g for g in self._graphs if assistant in (g.name, assistant_id(g.name))), None)

    def get(self, assistant: str) -> AssistantView | None:
        """The assistant, by its id or its graph's name."""
        served = self.find(assistant)
        return None if served is None else self._view(served)

    async def drawing(self, assistant: str, *, xray: bool | int) -> dict[str, Any] | None:
        """The graph's nodes and edges, as LangGraph draws them (`get_graph().to_json()`)."""
        served = self.find(assistant)
        if served is None:
            return None
        drawn = await served.graph.aget_graph(xray=xray)
        result: dict[str, Any] = jsonable(drawn.to_json())
        return result

    def schemas(self, assistant: str) -> GraphSchemas | None:
        """The graph's input, output, state and context schemas."""
        served = self.find(assistant)
        if served is None:
            return None
        graph = served.graph
        return GraphSchemas(
            graph_id=served.name,
            input_schema=_schema(graph.get_input_jsonschema),
            output_schema=_schema(graph.get_output_jsonschema),
            state_schema=_schema(graph.get_output_jsonschema),
            config_schema=None,  # LangGraph dropped config schemas for `context`
            context_schema=_schema(graph.get_context_jsonschema),
        )
