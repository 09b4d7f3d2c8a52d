"""One settings object, built once from the environment (and `.env`, where the real env wins)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

__all__ = ("Secret", "Settings", "SettingsError", "env_name", "load_settings", "read_dotenv")

DEFAULT_MODEL = "openai/gpt-oss-20b"
# Groq's models that take images (both also answer text).
DEFAULT_VISION_MODELS = (
    "meta-llama/llama-4-scout-17b-16e-instruct,meta-llama/llama-4-maverick-17b-128e-instruct"
)

# Fields whose environment variable is not simply the field name in upper case.
_ENV_NAMES: dict[str, str] = {"data_dir": "THREADLINE_DATA_DIR", "graph": "THREADLINE_GRAPH"}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Secret:
    """A string that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        """Return the secret value; call only where it is handed to a client library."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service. Field `x_y` is read from env var `X_Y` unless noted."""

    # Loopback by default: AUTH_MODE=none trusts every caller, so reaching further is a choice
    # (the container image sets 0.0.0.0).
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Server processes on HOST:PORT, each a whole Threadline (its own pool of
    # DB_POOL_MAX_SIZE); one Python process uses one core, so up to the cores to spare.
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    # OpenTelemetry traces over OTLP/HTTP, when set: the collector's base URL.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "threadline"

    database_url: Secret | None = None
    # Where the one listening connection per process goes, when DATABASE_URL is a pooler in
    # transaction mode (PgBouncer), which cannot keep a LISTEN: PostgreSQL itself.
    database_listen_url: Secret | None = None
    data_dir: str = ".threadline"
    db_pool_min_size: PositiveInt = 2
    db_pool_max_size: PositiveInt = 10
    # Unset keeps psycopg's default (prepare a query after 5 uses); "off" disables server-side
    # prepared statements, which PgBouncer in transaction mode requires.
    db_prepare_threshold: NonNegativeInt | Literal["off"] | None = None
    # How long a turn waits for a pooled connection before failing as storage_unavailable.
    db_pool_timeout: PositiveFloat = 5.0
    # Memory for recently decoded checkpoint blobs, which every turn reads again (0: none).
    decode_cache_mb: NonNegativeInt = 64
    # Seconds a conversation's decoded blobs and latest checkpoint stay in memory unused.
    checkpoint_cache_idle: PositiveFloat = 60.0

    groq_api_key: Secret | None = None
    groq_api_base: str | None = None
    groq_model: str = DEFAULT_MODEL
    groq_temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] = 0.7
    groq_max_tokens: PositiveInt | None = None
    groq_max_retries: NonNegativeInt = 2
    groq_retry_backoff: PositiveFloat = 0.5
    groq_timeout: PositiveFloat = 60.0
    # Groq model ids a user may pick for a conversation, comma-separated; GROQ_MODEL and the
    # offline model are always among them (see docs/models.md).
    models: str = ""
    # Model ids that take images, comma-separated: a message's images go only to these.
    vision_models: str = DEFAULT_VISION_MODELS
    system_prompt: str = "You are a helpful assistant."
    # A graph of your own, `package.module:function` (env THREADLINE_GRAPH); unset: the
    # built-in agent, with the tools below.
    graph: str | None = None
    # A LangGraph project's `langgraph.json`: its graphs are the assistants served; unset:
    # `langgraph.json` in the working directory when there is one (and no THREADLINE_GRAPH).
    langgraph_config: str | None = None
    # Per assistant, a JSON object of `runtime.context` values (below the first message's)
    # and of `configurable` values: `{"agent": {"model": "..."}}`.
    graph_context: str | None = None
    graph_configurable: str | None = None
    # Built-in tools the agent may call, comma-separated (empty: none): calculator, clock,
    # search_conversations, search_documents, remember (only while MEMORY is on).
    tools: str = "calculator,clock,search_conversations,search_documents,remember"
    # Seconds one tool call may take before it is answered with an error.
    tool_timeout: PositiveFloat = 30.0
    # Tools that run only once the user approves each call, comma-separated.
    approve_tools: str = ""
    # A JSON file listing Model Context Protocol servers whose tools the agent may call.
    mcp_servers: str | None = None
    # A JSON file declaring specialist agents; several make a router pick one per turn.
    agents: str | None = None

    max_message_bytes: PositiveInt = 16 * 1024
    # The most conversation history the model is sent, in estimated tokens; older turns are
    # folded into a running summary. 32k sits well inside gpt-oss-20b's 131k window.
    context_tokens: Annotated[int, msgspec.Meta(ge=256)] = 32_000
    # Conversations idle longer than this many days are deleted; unset keeps them forever.
    conversation_ttl_days: PositiveFloat | None = None
    # A message for a conversation that is already answering: wait in line, or be refused.
    busy_policy: Literal["queue", "reject"] = "queue"
    # A client that disconnects mid-reply: the turn completes anyway, or stops there.
    on_disconnect: Literal["continue", "cancel"] = "continue"
    # Turns a conversation may have waiting behind its running one; past it, conversation_busy.
    max_queued_turns: PositiveInt = 8
    # Turns one user may have queued or running, across conversations; past it, too_many_turns.
    max_turns_per_user: PositiveInt = 32
    # Frames waiting to be written to one socket; a client that lets more pile up is dropped.
    socket_send_queue: PositiveInt = 1024
    # Bytes of frames waiting to be written to one socket; past it, the client is dropped.
    socket_send_bytes: PositiveInt = 16 * 1024 * 1024
    # Bytes of frames waiting to be written to all of a process's sockets; past it, the
    # socket whose frame would go over is dropped.
    process_send_bytes: PositiveInt = 256 * 1024 * 1024
    # Seconds one write to a socket may wait on the client before the client is dropped.
    socket_send_timeout: PositiveFloat = 5.0
    # Upper bound on one turn, retries included.
    turn_timeout: PositiveFloat = 120.0
    # A turn's lease on its conversation lasts this long unless renewed: after a server dies
    # mid-turn, its conversations accept messages again once this has passed.
    turn_lease: Annotated[float, msgspec.Meta(ge=1)] = 30.0
    # At shutdown, how long running and queued turns get to finish before they are stopped.
    shutdown_grace: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    # A server process that stops renewing its presence (killed) drops out of the socket
    # totals, and of who gets a user's frames, after this many seconds.
    presence_ttl: Annotated[float, msgspec.Meta(ge=1)] = 15.0
    # Idle sockets are pinged this often; one that does not answer within the timeout is
    # closed, so a vanished client does not hold a socket (and a seat) forever.
    ws_ping_interval: PositiveFloat = 20.0
    ws_ping_timeout: PositiveFloat = 20.0

    # Long-term memory: facts the assistant saves about a user (the `remember` tool, the
    # memories API) and recalls by meaning at the start of each turn.
    memory: Literal["on", "off"] = "on"
    # Text embeddings for memories, documents and search: `local` runs a small model
    # shipped inside a Python wheel (wordllama, 256 dimensions, CPU); `openai-compatible`
    # calls any `/v1/embeddings` endpoint (EMBEDDINGS_URL, EMBEDDINGS_MODEL, EMBEDDINGS_DIMS).
    embeddings: Literal["local", "openai-compatible"] = "local"
    embeddings_url: str | None = None
    embeddings_model: str | None = None
    embeddings_dims: PositiveInt | None = None
    embeddings_api_key: Secret | None = None
    # The largest document one may upload to the knowledge base, in bytes.
    document_max_bytes: PositiveInt = 10 * 1024 * 1024
    # The largest import (`POST /users/{id}/conversations/import`), in bytes.
    import_max_bytes: PositiveInt = 16 * 1024 * 1024
    # What one user may keep and have indexing at once (shared documents are not counted):
    # past them an upload is refused and nothing is stored.
    max_documents_per_user: PositiveInt = 500
    max_document_bytes_per_user: PositiveInt = 100 * 1024 * 1024
    max_uploads_in_flight_per_user: PositiveInt = 4
    # Uploads are read (text out of PDFs and HTML) in processes of their own, this many per
    # server, each reading one document at a time and one user's documents one at a time.
    document_readers: PositiveInt = 2
    # A document not read within this many seconds ends `failed` (its reader is killed).
    # Below the 300 s after which another server takes an upload over.
    document_read_timeout: Annotated[float, msgspec.Meta(gt=0, le=240)] = 60.0
    # The most bytes a PDF's page content may inflate to, all pages together.
    document_max_decompressed_bytes: PositiveInt = 16 * 1024 * 1024
    # The address space one reader process may take, in MiB.
    document_reader_memory_mb: Annotated[int, msgspec.Meta(ge=256)] = 1024

    # Who may call: `none` trusts the path's user (development), `api_key` takes API keys,
    # `jwt` takes bearer tokens signed by an identity provider, and API keys too.
    auth_mode: Literal["none", "api_key", "jwt"] = "none"
    jwt_secret: Secret | None = None  # HS256
    jwt_public_key: str | None = None  # PEM text or a file holding it; RS256 or ES256
    jwt_jwks_url: str | None = None  # an identity provider's key set; keys may rotate
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_user_claim: str = "sub"
    # Seconds of clock skew tolerated on `exp` and `nbf`.
    jwt_leeway: Annotated[float, msgspec.Meta(ge=0, le=300)] = 30.0
    # Browser origins allowed to open sockets and write through the API cross-site ("*":
    # any); a page served by Threadline itself is same-origin and always allowed.
    allowed_origins: str = ""
    # Messages (and regenerations) one user may send per minute; unset: no limit.
    rate_limit_messages: PositiveInt | None = None
    # Model tokens one user may use per UTC day; unset: no quota.
    daily_token_quota: PositiveInt | None = None
    # Sockets one user may have open at once, across servers; unset: no limit.
    max_sockets_per_user: PositiveInt | None = None

    def __post_init__(self) -> None:
        if self.db_pool_min_size > self.db_pool_max_size:
            msg = "DB_POOL_MIN_SIZE: must not exceed DB_POOL_MAX_SIZE"
            raise SettingsError(msg)
        keys = (self.jwt_secret, self.jwt_public_key, self.jwt_jwks_url)
        if self.auth_mode == "jwt" and sum(key is not None for key in keys) != 1:
            msg = "AUTH_MODE: jwt needs exactly one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL"
            raise SettingsError(msg)

        _check_origins(self.origins)
        _check_quota(self.daily_token_quota, self.reply_max_tokens, self.groq_max_tokens)

        remote = (self.embeddings_url, self.embeddings_model, self.embeddings_dims)
        if self.embeddings == "openai-compatible" and None in remote:
            msg = (
                "EMBEDDINGS: openai-compatible needs EMBEDDINGS_URL, EMBEDDINGS_MODEL "
                "and EMBEDDINGS_DIMS"
            )
            raise SettingsError(msg)

    @property
    def origins(self) -> frozenset[str]:
        """The cross-site origins allowed, lower-cased, without trailing slashes."""
        return frozenset(
            origin.strip().rstrip("/").lower()
            for origin in self.allowed_origins.split(",")
            if origin.strip()
        )

    @property
    def reply_max_tokens(self) -> int | None:
        """The most tokens one model reply may take; None: the model's own limit.

        GROQ_MAX_TOKENS, or under a daily quota a fifth of CONTEXT_TOKENS (the reply's share
        of the window), so that what a model call may cost is known before it is made.
        """
        if self.groq_max_tokens is not None or self.daily_token_quota is None:
            return self.groq_max_tokens
        return self.context_tokens // 5

    @property
    def loopback(self) -> bool:
        """Whether HOST is a loopback address: nothing beyond this machine can connect."""
        try:
            return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def offline(self) -> bool:
        """Whether replies come from the offline model because no Groq key is set."""
        return self.groq_api_key is None


# An origin as a browser sends it: scheme://host[:port], nothing else ("null" is not one).
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:(?P<port>\d{1,5}))?")


def _check_origins(origins: frozenset[str]) -> None:
    """Refuse ALLOWED_ORIGINS that a browser's `Origin` could never equal.

    Raises:
        SettingsError: Naming the first entry that is no origin.
    """
    if "*" in origins and len(origins) > 1:
        msg = "ALLOWED_ORIGINS: `*` allows any origin, so it stands alone"
        raise SettingsError(msg)
    for origin in sorted(origins - {"*"}):
        matched = _ORIGIN.fullmatch(origin)
        if matched is None or int(matched["port"] or 0) > 65535:
            msg = (
                f"ALLOWED_ORIGINS: {origin!r} is not an origin: scheme://host[:port] "
                "as a browser sends it, without a path"
            )
            raise SettingsError(msg)


def env_name(field: str) -> str:
    """Return the environment variable that sets `field`."""
    return _ENV_NAMES.get(field, field.upper())


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file of `KEY=value` lines; comments, blanks and `export ` are allowed.

    Args:
        path: The file to read; a missing file yields no values.

    Returns:
        The variables it sets, quotes around values removed.
    """
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _collect(environ: Mapping[str, str]) -> dict[str, str]:
    """Pick the variables that name a field; empty values count as unset."""
    picked: dict[str, str] = {}
    for field in Settings.__struct_fields__:
        value = environ.get(env_name(field), "").strip()
        if value:
            picked[field] = value
    return picked


def _decode_secret(kind: type, value: Any) -> Any:
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise NotImplementedError


def _check_quota(quota: int | None, reply: int | None, groq_max_tokens: int | None) -> None:
    """Refuse a daily quota that no message could fit in: each reserves a reply's tokens."""
    if quota is None or reply is None or quota > reply:
        return
    source = "GROQ_MAX_TOKENS" if groq_max_tokens is not None else "CONTEXT_TOKENS / 5"
    msg = (
        f"DAILY_TOKEN_QUOTA: {quota} is not above the {reply} tokens reserved for a reply "
        f"({source}), so every message would be refused; raise it, or lower GROQ_MAX_TOKENS"
    )
    raise SettingsError(msg)


def _variable_in(error: msgspec.ValidationError) -> str:
    """Turn msgspec's `... - at `$.groq_timeout`` into the variable a user sets."""
    text = str(error)
    if "- at `$." in text:
        detail, _, path = text.rpartition(" - at `$.")
        return f"{env_name(path.rstrip('`'))}: {detail}"
    return text


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Build the settings from `.env` overlaid by the real environment.

    Args:
        environ: Variables to read; defaults to `os.environ`.
        dotenv: A `.env` file whose values the environment overrides; None to skip.

    Returns:
        The validated settings.

    Raises:
        SettingsError: One line naming the offending variable.
    """
    merged = read_dotenv(dotenv) if dotenv else {}
    merged.update(os.environ if environ is None else environ)
    try:
        return msgspec.convert(_collect(merged), Settings, strict=False, dec_hook=_decode_secret)
    except msgspec.ValidationError as error:
        raise SettingsError(f"invalid setting {_variable_in(error)}") from None
