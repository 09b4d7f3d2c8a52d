"""The application factory: wiring of storage, model, graph and routes in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, Reference, SecurityScheme

from threadline.chat.fanout.fleet import joined
from threadline.chat.fanout.relay import Relay
from threadline.chat.langgraph_api.user_store import UserStore
from threadline.chat.retention import RetentionSweeper
from threadline.chat.service import ChatService
from threadline.chat.turns.limits import UserLimits
from threadline.chat.turns.registry import LiveTurns
from threadline.chat.turns.watching import requests_served
from threadline.engine.agents import read_agents
from threadline.engine.custom import GraphSource
from threadline.engine.served import build_assistants, graph_sources
from threadline.engine.tools.builtin import approval_tools, builtin_tools, names_in
from threadline.engine.tools.mcp import load_mcp_tools, read_servers
from threadline.identity.authenticator import build_authenticator, jwt_verifier
from threadline.knowledge.holdings import HoldingsCache
from threadline.knowledge.service import Knowledge
from threadline.knowledge.stores import vector_store
from threadline.llm.embeddings import Embedder, make_embedder
from threadline.llm.models import chat_model, with_client_retries
from threadline.observability.metrics import pool_watched
from threadline.observability.tracing import tracing
from threadline.settings import Settings, SettingsError, load_settings
from threadline.storage.buckets import RateBuckets
from threadline.storage.checkpoints.saver import PooledPostgresSaver
from threadline.storage.database import Pool, database_url, open_pool
from threadline.storage.schema import DimensionMismatch, migrate
from threadline.storage.seats import SocketSeats
from threadline.storage.usage import UsageLedger
from threadline.transport.access import AccessControl
from threadline.transport.account import issue_ws_ticket, usage
from threadline.transport.admin import ApiKeysController
from threadline.transport.ag_ui import ag_ui_router
from threadline.transport.ai_sdk import ai_sdk_router
from threadline.transport.asyncapi import asyncapi_schema
from threadline.transport.bodies import JsonRequest
from threadline.transport.branching import MessagesController
from threadline.transport.health import health, ready, user_status
from threadline.transport.http_errors import exception_handlers
from threadline.transport.knowledge import (
    DocumentsController,
    MemoriesController,
    SharedDocumentsController,
    search_conversations,
)
from threadline.transport.langgraph_api import langgraph_router
from threadline.transport.metrics import MetricsController, http_metrics
from threadline.transport.outbox import SendBudget
from threadline.transport.protocol import FrameDecoder
from threadline.transport.rest import ConversationsController, erase_user_data, list_models
from threadline.transport.schema_page import SchemaPage
from threadline.transport.services import Services
from threadline.transport.shared_page import shared_conversation
from threadline.transport.sharing import SharingController, feedback_export, import_router
from threadline.transport.socket import chat_socket
from threadline.transport.thread_events import thread_events_router
from threadline.transport.web import chat_page, page_assets
from threadline.version import VERSION
from threadline.wiring import build_chat_service, build_knowledge, model_name

__all__ = ("build_chat_service", "create_app")

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Litestar:
    """Create the Threadline ASGI application.

    Args:
        settings: Configuration; read from the environment when omitted.

    Returns:
        A Litestar app whose lifespan opens storage and compiles the graph.
    """
    settings = settings or load_settings()
    tokens = jwt_verifier(settings)  # a bad key stops start-up here, in one line
    builtin_tools(settings.tools)  # and so does an unknown tool, or a graph that cannot load
    sources = graph_sources(settings)  # a langgraph.json or THREADLINE_GRAPH: imported now
    if settings.agents is not None:
        read_agents(settings.agents)
    if settings.mcp_servers is not None:
        read_servers(settings.mcp_servers)
    else:  # with MCP servers, their tools are known once they are loaded
        approval_tools(settings.approve_tools, names_in(settings.tools))
    _warn_if_open(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with (
            tracing(settings.otel_exporter_otlp_endpoint, settings.otel_service_name),
            database_url(settings) as url,
            open_pool(url, settings) as pool,
            pool_watched(pool.get_stats),
            chat_model(settings) as model,
        ):
            saver = PooledPostgresSaver(
                pool, settings.decode_cache_mb * 1024 * 1024, settings.checkpoint_cache_idle
            )
            store = AsyncPostgresStore(pool)
            vectors = await _migrated(settings, url, pool, saver)
            listen_url = settings.database_listen_url
            listen = url if listen_url is None else listen_url.get()
            # What the relay calls up at run time, built before it: this process's turns
            # (stops and resumes asked from elsewhere) and what users keep (their changes).
            live, holdings = LiveTurns(), HoldingsCache(pool)
            async with joined(
                listen,
                pool,
                settings.presence_ttl,
                serve=requests_served(live),
                on_change=holdings.forget,
            ) as relay:
                knowledge = build_knowledge(
                    settings, pool, saver, vectors, holdings=holdings, changed=relay.changed
                )
                storage = (saver, store, pool)
                chat, limits = await _chat_service(
                    settings, model, storage, (relay, live), (knowledge, sources)
                )
                seats = None
                if settings.max_sockets_per_user is not None:
                    seats = SocketSeats(pool, settings.max_sockets_per_user)
                identity = build_authenticator(settings, pool, tokens)
                app.state.services = Services(
                    settings=settings,
                    decoder=FrameDecoder(settings.max_message_bytes),
                    chat=chat,
                    pool=pool,
                    identity=identity,
                    limits=limits,
                    send_budget=SendBudget(settings.process_send_bytes),
                    user_store=UserStore(store),
                    seats=seats,
                )
                try:
                    async with (
                        _sweeping(chat, settings),
                        _indexing(knowledge),
                        identity.revocations.running(),
                    ):
                        logger.info("app.ready", extra={"offline": settings.offline})
                        yield
                finally:
                    # Sockets are closed by now; turns run on their own and finish (or
                    # are stopped, keeping their partial replies) while storage is open.
                    await chat.drain(settings.shutdown_grace)
                    await limits.usage.close()
                    if seats is not None:
                        await seats.close()

    # logging_config=None: logging is configured once by the CLI (JSON lines), not per app.
    return Litestar(
        route_handlers=[
            chat_socket,
            user_status,
            health,
            ready,
            ConversationsController,
            MessagesController,
            erase_user_data,
            list_models,
            issue_ws_ticket,
            usage,
            ApiKeysController,
            asyncapi_schema,
            MemoriesController,
            search_conversations,
            MetricsController,
            chat_page,
            page_assets(),
            langgraph_router(),
            SharingController,
            feedback_export,
            shared_conversation,
            import_router(settings),
            ai_sdk_router(),
            ag_ui_router(),
            thread_events_router(),
            # Uploads may be larger than any other request, up to DOCUMENT_MAX_BYTES (and
            # the multipart framing around it).
            Router(
                "/",
                route_handlers=[DocumentsController, SharedDocumentsController],
                request_max_body_size=settings.document_max_bytes + 64 * 1024,
            ),
        ],
        lifespan=[lifespan],
        middleware=[http_metrics().middleware, AccessControl()],
        cors_config=_cors(settings),
        exception_handlers=exception_handlers,
        openapi_config=_openapi(settings),
        logging_config=None,
        request_class=JsonRequest,
    )


async def _chat_service(
    settings: Settings,
    model: BaseChatModel,
    storage: tuple[AsyncPostgresSaver, AsyncPostgresStore, Pool],
    fleet: tuple[Relay, LiveTurns],
    offered: tuple[Knowledge, list[GraphSource]],
) -> tuple[ChatService, UserLimits]:
    saver, store, pool = storage
    relay, live = fleet
    knowledge, sources = offered
    limits = _limits(settings, pool)
    # MCP tools join the built-in agent's; a graph of one's own brings its own tools.
    mcp = await load_mcp_tools(settings.mcp_servers) if not sources else None
    try:
        graphs = await build_assistants(
            sources,
            settings,
            model=with_client_retries(model, settings),
            model_name=model_name(settings),
            checkpointer=saver,
            store=store,
        )
        chat = build_chat_service(
            settings,
            model,
            saver,
            store,
            pool,
            limits=limits,
            mcp=mcp,
            relay=relay,
            live=live,
            knowledge=knowledge,
            graphs=graphs,
        )
    except SettingsError as error:  # a graph of one's own failed: say so in one line
        logger.error("startup.failed", extra={"detail": str(error)})
        raise
    return chat, limits


async def _migrated(
    settings: Settings, url: str, pool: Pool, saver: AsyncPostgresSaver
) -> tuple[AsyncPostgresStore, Embedder]:
    """Migrate every table (vectors of the embedder's size): the store memories use."""
    embedder = make_embedder(settings)
    vectors = vector_store(pool, embedder)
    try:
        await migrate(url, saver, AsyncPostgresStore(pool), vectors=vectors)
    except DimensionMismatch as error:
        logger.error("startup.failed", extra={"detail": str(error)})
        raise
    return vectors, embedder


@asynccontextmanager
async def _indexing(knowledge: Knowledge) -> AsyncIterator[None]:
    """Index uploads in the background, taking over any left half-way by a dead server."""
    knowledge.start()
    await knowledge.reclaim()
    try:
        yield
    finally:
        await knowledge.stop()


@asynccontextmanager
async def _sweeping(chat: ChatService, settings: Settings) -> AsyncIterator[None]:
    """Delete idle conversations in the background, with CONVERSATION_TTL_DAYS."""
    if settings.conversation_ttl_days is None:
        yield
        return
    sweeper = RetentionSweeper(chat, settings.conversation_ttl_days)
    sweeper.start()
    try:
        yield
    finally:
        await sweeper.stop()


def _openapi(settings: Settings) -> OpenAPIConfig:
    """The OpenAPI document's settings; with AUTH_MODE set it names the credentials too."""
    schemes: dict[str, SecurityScheme | Reference] = {
        "bearer": SecurityScheme(
            type="http", scheme="bearer", description="A JWT (AUTH_MODE=jwt) or an API key."
        ),
        "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
    }
    auth = settings.auth_mode != "none"
    return OpenAPIConfig(
        title="Threadline",
        version=VERSION,
        path="/schema",
        render_plugins=[SchemaPage(), JsonRenderPlugin()],
        components=Components(security_schemes=schemes) if auth else Components(),
        security=[{"bearer": []}, {"apiKey": []}] if auth else None,
    )


def _limits(settings: Settings, pool: Pool) -> UserLimits:
    rate = settings.rate_limit_messages
    buckets = RateBuckets(pool, rate) if rate is not None else None
    return UserLimits(
        UsageLedger(pool), buckets, settings.daily_token_quota, settings.reply_max_tokens
    )


def _cors(settings: Settings) -> CORSConfig | None:
    """CORS for the REST API, from the same list as the socket's Origin check."""
    if not settings.origins:
        return None
    return CORSConfig(
        allow_origins=sorted(settings.origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        # x-threadline-user: whom an admin key (or AUTH_MODE=none) acts for, LangGraph API.
        # last-event-id: a stream rejoined from where it stopped (the JavaScript SDKs).
        allow_headers=[
            "authorization",
            "x-api-key",
            "content-type",
            "x-threadline-user",
            "last-event-id",
        ],
        # A run's stream names the run it started (the LangGraph SDKs read it to rejoin).
        expose_headers=["content-location", "location"],
        max_age=600,
    )


def _warn_if_open(settings: Settings) -> None:
    """Say so when AUTH_MODE=none serves anything beyond this machine."""
    if settings.auth_mode != "none":
        return
    if not settings.loopback:
        logger.warning(
            "auth.disabled",
            extra={
                "host": settings.host,
                "detail": "AUTH_MODE=none trusts the user id in every path; anyone who can "
                "reach this address can read and write every user's conversations. Set "
                "AUTH_MODE (see docs/security.md) or HOST=127.0.0.1.",
            },
        )
