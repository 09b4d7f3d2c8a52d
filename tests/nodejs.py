"""JavaScript clients nobody here wrote, run under node against a served Threadline.

The packages are in tests/package.json and its lockfile, installed into tests/node_modules
by `npm ci --prefix tests` (`.ci/run` does it). Each script in tests/js/ takes its inputs
from the environment, prints one JSON document (what it saw) as its last line of output,
and exits non-zero on an error; `run_node` returns that document.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ("run_node",)

_TESTS = Path(__file__).parent


async def run_node(script: str, within: float = 60.0, **env: str) -> Any:
    """Run tests/js/`script` with `env` added to the environment; its JSON output.

    Raises:
        AssertionError: node or the packages are missing, or the script failed.
    """
    node = shutil.which("node")
    assert node, "node is not installed (apt-get install nodejs)"
    assert (_TESTS / "node_modules").is_dir(), "run `npm ci --prefix tests` first"
    process = await asyncio.create_subprocess_exec(
        node,
        str(_TESTS / "js" / script),
        cwd=_TESTS,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(within):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{script} did not finish within {within} s") from None
    assert process.returncode == 0, f"{script} failed:\n{err.decode()[-4000:]}"
    lines = out.decode().strip().splitlines()
    assert lines, f"{script} printed nothing:\n{err.decode()[-4000:]}"
    return json.loads(lines[-1])
