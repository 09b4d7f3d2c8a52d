"""Threadline's version: `version` in pyproject.toml, read from the installed package.

pyproject.toml is the one place it is written; the build puts it in the package's metadata,
and everything that shows it (`/health`, the page's footer, `threadline --version`, the
metrics' build info, the OpenAPI and AsyncAPI documents) reads it from here.
"""

from __future__ import annotations

from importlib.metadata import version

__all__ = ("VERSION",)

VERSION = version("threadline")
