"""Wiring the chat service from the settings: its graph, tools, memory and knowledge."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore

from threadline.chat.fanout.relay import Relay
from threadline.chat.langgraph_api.assistants import assistant_id
from threadline.chat.service import ChatService
from threadline.chat.turns.limits import UserLimits
from threadline.chat.turns.registry import LiveTurns
from threadline.chat.turns.roster import TurnPolicy
from threadline.chat.turns.watching import requests_served
from threadline.conversations.index import ConversationIndex
from threadline.conversations.search import ConversationSearch
from threadline.conversations.threads import ThreadCatalog
from threadline.engine.agents import read_agents
from threadline.engine.assistants import Assistant, Assistants
from threadline.engine.graph import ChatGraph, build_graph
from threadline.engine.runner import TurnRunner
from threadline.engine.served import BUILTIN_ASSISTANT
from threadline.engine.tools.builtin import SEARCH, approval_tools, builtin_tools
from threadline.engine.tools.knowledge import (
    DOCUMENTS,
    REMEMBER,
    Brief,
    documents_tool,
    remember_tool,
)
from threadline.engine.tools.mcp import McpTools
from threadline.engine.tools.search import search_tool
from threadline.knowledge.documents import DocumentStore, Quota
from threadline.knowledge.extract import Bounds
from threadline.knowledge.holdings import HoldingsCache
from threadline.knowledge.indexer import DocumentIndexer
from threadline.knowledge.memories import Memories
from threadline.knowledge.readers import Readers, ReadingLimits
from threadline.knowledge.retrieval import Retriever
from threadline.knowledge.service import Knowledge
from threadline.llm.choices import ModelChoices, model_choices
from threadline.llm.embeddings import Embedder
from threadline.llm.models import chat_models, with_model_name
from threadline.llm.offline import OFFLINE_MODEL_NAME
from threadline.llm.retry import RetryPolicy
from threadline.settings import Settings
from threadline.storage.checkpoints.ledger import Ledger
from threadline.storage.database import Pool
from threadline.storage.leases import ConversationLocks

__all__ = ("build_chat_service", "build_knowledge", "model_name")

logger = logging.getLogger(__name__)


def build_knowledge(  # noqa: PLR0913 - its parts, each named
    settings: Settings,
    pool: Pool,
    saver: AsyncPostgresSaver,
    vectors: tuple[AsyncPostgresStore, Embedder],
    *,
    holdings: HoldingsCache | None = None,
    changed: Callable[[str | None], None] | None = None,
) -> Knowledge:
    """Memories in `vectors` (a store with a vector index), documents and search beside.

    Its indexer is not started: the caller starts and stops it with the app. `changed`
    is told whose memories or documents changed (every process's relay: `Relay.changed`,
    whose `on_change` forgets them in `holdings`); by default, `holdings` here alone.
    """
    store, embedder = vectors
    holdings = holdings or HoldingsCache(pool)
    changed = changed or holdings.forget
    quota = Quota(
        documents=settings.max_documents_per_user,
        bytes=settings.max_document_bytes_per_user,
        in_flight=settings.max_uploads_in_flight_per_user,
    )
    reading = ReadingLimits(
        processes=settings.document_readers,
        timeout=settings.document_read_timeout,
        memory_mb=settings.document_reader_memory_mb,
        bounds=Bounds(max_decompressed=settings.document_max_decompressed_bytes),
    )
    return Knowledge(
        Memories(store),
        DocumentStore(pool, quota),
        DocumentIndexer(pool, embedder, Readers(reading), on_ready=changed),
        Retriever(pool, embedder),
        ConversationSearch(Ledger(saver), pool, embedder),
        holdings=holdings,
        changed=changed,
        embedder=embedder,
        memory_on=settings.memory == "on",
        max_document_bytes=settings.document_max_bytes,
    )


def build_chat_service(  # noqa: PLR0913 - the parts it is wired from, each named
    settings: Settings,
    model: BaseChatModel,
    saver: AsyncPostgresSaver,
    store: AsyncPostgresStore,
    pool: Pool,
    *,
    limits: UserLimits | None = None,
    mcp: McpTools | None = None,
    relay: Relay | None = None,
    live: LiveTurns | None = None,
    knowledge: Knowledge | None = None,
    graphs: list[Assistant] | None = None,
) -> ChatService:
    """Wire the chat service: the graph on `saver`, the index in `store`, leases in `pool`.

    `graphs` are the assistants of graphs brought along (`engine.served`); without them,
    the built-in agent is the one assistant. With `knowledge`, the built-in agent recalls
    memories and may search conversations and documents and save memories (as TOOLS and
    MEMORY say). A `relay` serves other processes' stops and resumes from `live`, the
    turns of this process (`watching.requests_served`): the two come together.
    """
    index = ConversationIndex(store, pool, default_model=model_name(settings))
    # A graph of one's own calls its own model: only the built-in agent lets users pick.
    choices = ModelChoices.only(model_name(settings))
    if not graphs:
        choices = model_choices(settings)
        served = mcp or McpTools((), frozenset())
        tools = _all_tools(settings, _wired_tools(knowledge), served)
        brief = _briefing(knowledge, any(tool.name == DOCUMENTS for tool in tools))
        graph = _builtin_graph(settings, (model, choices), saver, (tools, brief), served)
        runner = TurnRunner(graph, model_name(settings), settings.turn_timeout)
        graphs = [Assistant(BUILTIN_ASSISTANT, runner)]
    live = live or LiveTurns()
    relay = relay or Relay(serve=requests_served(live))
    return ChatService(
        index,
        Assistants(graphs),
        ConversationLocks(pool, ttl=settings.turn_lease, process_id=relay.process_id),
        title_model=None if settings.offline else model,
        policy=TurnPolicy(
            queue_when_busy=settings.busy_policy == "queue",
            queued_per_conversation=settings.max_queued_turns,
            per_user=settings.max_turns_per_user,
        ),
        limits=limits,
        relay=relay,
        live=live,
        knowledge=knowledge,
        catalog=ThreadCatalog(
            pool,
            _thread_defaults(graphs[0].assistant_id),
            {graph.assistant_id: _thread_defaults(graph.assistant_id) for graph in graphs},
        ),
        models=choices,
    )


def _thread_defaults(graph: str) -> dict[str, str]:
    """The metadata every thread shows unless set: the graph its turns run by default."""
    return {"graph_id": graph, "assistant_id": assistant_id(graph)}


def model_name(settings: Settings) -> str:
    """The name replies are stored with: the configured Groq model, or the offline one."""
    return OFFLINE_MODEL_NAME if settings.offline else settings.groq_model


def _wired_tools(knowledge: Knowledge | None) -> dict[str, BaseTool]:
    """The tools that read what users keep, by name (`remember` only while MEMORY is on)."""
    if knowledge is None:
        return {}
    wired = {
        SEARCH: search_tool(knowledge.search_for_tool),
        DOCUMENTS: documents_tool(knowledge.retrieve_for_tool),
    }
    if knowledge.memory_on:
        wired[REMEMBER] = remember_tool(knowledge.remember_for_tool)
    return wired


def _briefing(knowledge: Knowledge | None, documents: bool) -> Brief | None:
    if knowledge is None or not (knowledge.memory_on or documents):
        return None
    return functools.partial(knowledge.brief, documents=documents)


def _builtin_graph(
    settings: Settings,
    models: tuple[BaseChatModel, ModelChoices],
    saver: AsyncPostgresSaver,
    offered: tuple[list[BaseTool], Brief | None],
    mcp: McpTools,
) -> ChatGraph:
    (model, choices), (tools, brief) = models, offered
    retry = RetryPolicy(settings.groq_max_retries, settings.groq_retry_backoff)
    approve = approval_tools(settings.approve_tools, [tool.name for tool in tools])
    agents = read_agents(settings.agents) if settings.agents is not None else []
    return build_graph(
        model,
        saver,
        settings.system_prompt,
        retry,
        settings.context_tokens,
        tools=tools,
        tool_timeout=settings.tool_timeout,
        needs_approval=approve | mcp.needs_approval,
        agents=[(spec, with_model_name(model, spec.model)) for spec in agents],
        brief=brief,
        models=chat_models(model, choices),
        vision=choices.vision,
    )


def _all_tools(settings: Settings, wired: dict[str, BaseTool], mcp: McpTools) -> list[BaseTool]:
    """The built-in tools, then the MCP servers' (one whose name is taken is left out)."""
    tools = list(builtin_tools(settings.tools, wired))
    for tool in mcp.tools:
        if any(tool.name == known.name for known in tools):
            logger.error("mcp.duplicate_tool", extra={"tool": tool.name})
            continue
        tools.append(tool)
    return tools
