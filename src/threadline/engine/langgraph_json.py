"""LANGGRAPH_CONFIG: a LangGraph project's `langgraph.json`, read as a LangGraph server would.

Served: `graphs` (each an assistant, named by its key), `env` (a file of `KEY=value` lines
or an object; the real environment wins, as with Threadline's own `.env`) and
`dependencies` (local paths become importable; packages must be installed already). Keys
that only shape the container image `langgraph build` makes are accepted and ignored.
Keys that would change what is served (`auth`, `http`, `store`, ...) are refused at
start-up with one line naming the key: Threadline has its own way of doing each.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

from threadline.settings import SettingsError, read_dotenv

__all__ = (
    "GraphEntry",
    "LangGraphConfig",
    "apply_config",
    "config_path",
    "per_assistant",
    "read_config",
)

_SETTING = "LANGGRAPH_CONFIG"
# Keys about the image `langgraph build` makes: nothing to serve differently.
_BUILD_ONLY = frozenset(
    {
        "$schema",
        "python_version",
        "node_version",
        "api_version",
        "base_image",
        "image_distro",
        "pip_config_file",
        "pip_installer",
        "dockerfile_lines",
        "keep_pkg_tools",
    }
)
_SERVED = frozenset({"graphs", "env", "dependencies"})
# Why each LangGraph server feature is not taken, in the line that refuses it.
_REFUSED = {
    "auth": "Threadline authenticates with AUTH_MODE",
    "http": "Threadline serves its own routes; CORS is ALLOWED_ORIGINS",
    "store": "the store's index is Threadline's (EMBEDDINGS_* settings)",
    "checkpointer": "Threadline's checkpointer is its own",
    "encryption": "no custom encryption hook",
    "webhooks": "no webhooks",
    "ui": "no generative UI components",
    "source": "install the project in Threadline's environment instead",
}
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


class GraphEntry(NamedTuple):
    """One `graphs` entry: the assistant id and what it names."""

    assistant_id: str
    spec: str


class LangGraphConfig(NamedTuple):
    """What of a `langgraph.json` is served."""

    path: Path
    graphs: list[GraphEntry]
    env_file: Path | None
    env: dict[str, str]
    dependencies: list[str]


def _fail(detail: str) -> SettingsError:
    return SettingsError(f"invalid setting {_SETTING}: {detail}")


def config_path(given: str | None, graph: str | None) -> Path | None:
    """The `langgraph.json` to serve: LANGGRAPH_CONFIG, else one in the working directory.

    THREADLINE_GRAPH without LANGGRAPH_CONFIG serves that one graph alone.

    Raises:
        SettingsError: Both THREADLINE_GRAPH and LANGGRAPH_CONFIG are set.
    """
    if given is not None:
        if graph is not None:
            raise _fail("set THREADLINE_GRAPH or LANGGRAPH_CONFIG, not both")
        return Path(given)
    default = Path("langgraph.json")
    return default if graph is None and default.is_file() else None


def read_config(path: Path) -> LangGraphConfig:
    """Read `path`: its graphs, its env and its dependencies (applied by `apply_config`).

    Raises:
        SettingsError: One line naming the key that cannot be served, or why the file
            cannot be read.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _fail(f"cannot read {str(path)!r}: {error}") from None
    if not isinstance(raw, dict):
        raise _fail(f"{str(path)!r} is not a JSON object")
    for key in raw:
        if key in _REFUSED:
            raise _fail(f"key {key!r} is not supported ({_REFUSED[key]})")
        if key not in _SERVED | _BUILD_ONLY:
            raise _fail(f"key {key!r} is not supported (not a langgraph.json key)")
    base = path.resolve().parent
    env_file, env = _read_env(raw.get("env", {}), base)
    dependencies = raw.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise _fail("'dependencies' is not a list of strings")
    return LangGraphConfig(path, _graphs(raw.get("graphs")), env_file, env, dependencies)


def apply_config(config: LangGraphConfig) -> None:
    """Set the config's `env` (variables already set win) and make its dependencies importable.

    Raises:
        SettingsError: A dependency that is a package is not installed.
    """
    for name, value in config.env.items():
        os.environ.setdefault(name, value)
    _add_dependencies(config.dependencies, config.path.resolve().parent)


def _graphs(graphs: object) -> list[GraphEntry]:
    if not isinstance(graphs, dict) or not graphs:
        raise _fail("'graphs' names no graph")
    entries = []
    for name, value in graphs.items():
        spec = value.get("path") if isinstance(value, dict) else value
        if isinstance(value, dict) and (extra := set(value) - {"path", "description"}):
            raise _fail(f"key {sorted(extra)[0]!r} of graph {name!r} is not supported")
        if not isinstance(spec, str):
            raise _fail(f"graph {name!r} needs a path such as './graph.py:graph'")
        entries.append(GraphEntry(name, spec))
    return entries


def _read_env(env: object, base: Path) -> tuple[Path | None, dict[str, str]]:
    """`env`'s file (if it names one) and its variables."""
    if isinstance(env, str):
        file = base / env
        if not file.is_file():
            raise _fail(f"env file {env!r} does not exist")
        return file, read_dotenv(file)
    if isinstance(env, dict) and all(isinstance(v, str) for v in env.values()):
        return None, dict(env)
    raise _fail("'env' is neither a file name nor an object of strings")


def _add_dependencies(dependencies: list[str], base: Path) -> None:
    """Local paths (and their `src/`) become importable; packages must be installed."""
    for dependency in dependencies:
        if dependency.startswith((".", "/")):
            folder = (base / dependency).resolve()
            for importable in (folder / "src", folder):
                if importable.is_dir() and str(importable) not in sys.path:
                    sys.path.insert(0, str(importable))
            continue
        _check_installed(dependency)


def _check_installed(dependency: str) -> None:
    name = _PACKAGE.match(dependency)
    if name is None or "://" in dependency or dependency.startswith("git+"):
        raise _fail(f"dependency {dependency!r}: install it in Threadline's environment")
    try:
        importlib.metadata.distribution(name.group())
    except importlib.metadata.PackageNotFoundError:
        detail = f"dependency {name.group()!r} is not installed (e.g. `uv add {name.group()}`)"
        raise _fail(detail) from None


def per_assistant(text: str | None, setting: str) -> dict[str, dict[str, Any]]:
    """A setting's JSON object of objects per assistant (GRAPH_CONTEXT, GRAPH_CONFIGURABLE).

    Raises:
        SettingsError: It is not such an object.
    """
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise SettingsError(f"invalid setting {setting}: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        detail = 'an object of objects per assistant: {"agent": {...}}'
        raise SettingsError(f"invalid setting {setting}: expected {detail}")
    return value
