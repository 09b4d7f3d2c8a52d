"""The tools the built-in agent offers by default."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from threadline.engine.tools.calculator import calculator
from threadline.engine.tools.clock import clock
from threadline.settings import SettingsError

__all__ = ("BUILTIN_TOOLS", "builtin_tools")

BUILTIN_TOOLS: dict[str, BaseTool] = {tool.name: tool for tool in (calculator, clock)}


def builtin_tools(names: str) -> tuple[BaseTool, ...]:
    """The built-in tools named in `names` (comma-separated, as TOOLS holds them).

    Raises:
        SettingsError: A name is not a built-in tool.
    """
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BUILTIN_TOOLS]
    if unknown:
        known = ", ".join(BUILTIN_TOOLS)
        msg = f"invalid setting TOOLS: unknown tool {unknown[0]!r} (built-in: {known})"
        raise SettingsError(msg)
    return tuple(BUILTIN_TOOLS[name] for name in chosen)
