"""The tools the built-in agent offers by default."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from langchain_core.tools import BaseTool

from threadline.engine.tools.calculator import calculator
from threadline.engine.tools.clock import clock
from threadline.engine.tools.knowledge import DOCUMENTS, REMEMBER
from threadline.settings import SettingsError

__all__ = ("BUILTIN_TOOLS", "SEARCH", "WIRED", "approval_tools", "builtin_tools", "names_in")

BUILTIN_TOOLS: dict[str, BaseTool] = {tool.name: tool for tool in (calculator, clock)}
SEARCH = "search_conversations"
# Built with what they read (conversations, documents, memories) by the app, so known
# here by name only.
WIRED = (SEARCH, DOCUMENTS, REMEMBER)


def names_in(setting: str) -> list[str]:
    """The names in a comma-separated setting, trimmed, empties dropped."""
    return [name.strip() for name in setting.split(",") if name.strip()]


def builtin_tools(names: str, wired: Mapping[str, BaseTool] | None = None) -> tuple[BaseTool, ...]:
    """The built-in tools named in `names` (comma-separated, as TOOLS holds them).

    Args:
        names: The TOOLS setting.
        wired: The tools the app built (`WIRED`), by name; one not given is left out
            (without any, a check of the names alone).

    Raises:
        SettingsError: A name is not a built-in tool.
    """
    chosen = names_in(names)
    unknown = [name for name in chosen if name not in BUILTIN_TOOLS and name not in WIRED]
    if unknown:
        known = ", ".join([*BUILTIN_TOOLS, *WIRED])
        msg = f"invalid setting TOOLS: unknown tool {unknown[0]!r} (built-in: {known})"
        raise SettingsError(msg)
    available = {**BUILTIN_TOOLS, **(wired or {})}
    return tuple(available[name] for name in chosen if name in available)


def approval_tools(approve: str, offered: Iterable[str]) -> frozenset[str]:
    """The tools in `approve` (APPROVE_TOOLS), each of which must be offered.

    Raises:
        SettingsError: A name is not among the tools offered (TOOLS, or an MCP server's).
    """
    names = set(offered)
    chosen = names_in(approve)
    if stray := [name for name in chosen if name not in names]:
        msg = f"invalid setting APPROVE_TOOLS: {stray[0]!r} is not a tool offered (TOOLS, MCP)"
        raise SettingsError(msg)
    return frozenset(chosen)
