"""`threadline dev`: serve as `threadline` does, reloading when the graph's files change.

The parent process starts the embedded PostgreSQL once (unless DATABASE_URL names one),
binds HOST:PORT, prints where everything is, and watches the files (uvicorn's reloader,
with watchfiles): the project's Python files, its `langgraph.json` and its env file.
On a change it ends the server process and starts a new one, which imports the graph
afresh; the database, and so every conversation, stays. Logs are at DEBUG (as ever,
without a word of what users write).
"""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn
from litestar import Litestar
from uvicorn.supervisors import ChangeReload

from threadline.engine.langgraph_json import config_path, read_config
from threadline.observability.logs import configure_logging
from threadline.serving import uvicorn_config
from threadline.settings import Settings, SettingsError, load_settings
from threadline.workers import shared_database

__all__ = ("dev_app", "serve_dev")

logger = logging.getLogger(__name__)

LOG_LEVEL = "DEBUG"


def dev_app() -> Litestar:
    """The app of one dev server process (uvicorn's factory): settings from the environment."""
    from threadline.app import create_app  # noqa: PLC0415 - after logging is set up

    configure_logging(LOG_LEVEL)
    try:
        return create_app(load_settings())
    except SettingsError as error:
        # The reloader goes on watching: the next change to the files tries again.
        logger.error("startup.failed", extra={"detail": str(error)})
        raise SystemExit(1) from None


def serve_dev(settings: Settings) -> None:
    """Serve with reloading until interrupted.

    Raises:
        SettingsError: The `langgraph.json` cannot be served.
    """
    dirs, files = _watched(settings)
    with shared_database(settings):
        config = uvicorn_config(
            f"{__name__}:dev_app",
            settings,
            factory=True,
            reload=True,
            reload_dirs=[str(folder) for folder in dirs],
            reload_includes=["*.py", *files],
        )
        sock = config.bind_socket()
        _print_where(settings, dirs)
        ChangeReload(config, target=uvicorn.Server(config).run, sockets=[sock]).run()


def _watched(settings: Settings) -> tuple[list[Path], list[str]]:
    """The folders watched, and the file names watched besides Python files."""
    path = config_path(settings.langgraph_config, settings.graph)
    if path is None:  # THREADLINE_GRAPH names a module importable from here
        return [Path.cwd()], []
    config = read_config(path)
    dirs = {config.path.resolve().parent}
    files = [config.path.name]
    if config.env_file is not None:
        dirs.add(config.env_file.resolve().parent)
        files.append(config.env_file.name)
    return sorted(dirs), files


def _print_where(settings: Settings, dirs: list[Path]) -> None:
    http = f"http://{settings.host}:{settings.port}"
    lines = [
        "Threadline dev server (reloads on changes in " + ", ".join(map(str, dirs)) + ")",
        f"  Chat page:      {http}/",
        f"  API docs:       {http}/schema  (OpenAPI: {http}/schema/openapi.json)",
        f"  WebSocket API:  ws://{settings.host}:{settings.port}/ws/{{user_id}}"
        f"  (AsyncAPI: {http}/schema/asyncapi.json)",
        "  Guide:          docs/graphs.md",
    ]
    print("\n".join(lines), flush=True)
