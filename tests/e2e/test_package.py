"""The package people install: what `uv build` makes, installed alone in a fresh virtual
environment outside the clone, serves the page and chats, and says its version.

A file the server needs at run time but the package lacks fails here. The dependencies are
installed at their locked versions from uv's cache (`--offline`: CI's `uv sync --locked`
put them there), then the wheel, as users install it.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import anyio
import httpx
import pytest

from tests.processes import free_port, process_env, running, wait_ready
from tests.project import ROOT, VERSION
from tests.wsclient import connect

pytestmark = pytest.mark.anyio

# The uv this run is under (`uv run` says which), else the one on PATH.
UV = os.environ.get("UV") or shutil.which("uv")
WEB = ROOT / "src" / "threadline" / "web"


def _uv(*args: str, cwd: Path, **env: str) -> str:
    """Run uv; returns what it printed (uv reports on stderr)."""
    assert UV, "uv is missing: `pip install uv` (what .ci/run does)"
    outside = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run(
        [UV, *args],
        cwd=cwd,
        env={**outside, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel `uv build` makes (from the sdist it makes first), and what uv printed."""
    out = tmp_path_factory.mktemp("dist")
    printed = _uv("build", "--out-dir", str(out), cwd=ROOT)
    return out / f"threadline-{VERSION}-py3-none-any.whl", printed


def test_uv_build_warns_of_nothing_and_the_wheel_carries_licence_and_metadata(
    built: tuple[Path, str],
) -> None:
    wheel, printed = built
    info = f"threadline-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        licence = archive.read(f"{info}/licenses/LICENSE").decode()

    assert "warning" not in printed.lower(), printed
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 The Threadline authors\n")
    assert metadata["Summary"]
    assert "langgraph" in metadata["Keywords"].split(",")
    assert "Typing :: Typed" in metadata.get_all("Classifier", [])


def _install(wheel: Path, venv: Path) -> str:
    """A new virtualenv: the locked dependencies, then the wheel; returns its `threadline`."""
    _uv(
        *("sync", "--locked", "--offline", "--no-dev", "--no-install-project"),
        *("--python", sys.executable),
        cwd=ROOT,
        UV_PROJECT_ENVIRONMENT=str(venv),
    )
    python = str(venv / "bin" / "python")
    _uv("pip", "install", "--offline", "--python", python, str(wheel), cwd=venv)
    sources = {pth.read_text() for pth in venv.glob("lib/python*/site-packages/*.pth")}
    assert not any(str(ROOT) in source for source in sources)  # nothing read from the clone
    return str(venv / "bin" / "threadline")


def _outside_the_clone(env: dict[str, str]) -> dict[str, str]:
    """`env` without the clone's virtualenv: not active, not on PATH, nothing on PYTHONPATH."""
    outside = {k: v for k, v in env.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    path = env["PATH"].split(os.pathsep)
    outside["PATH"] = os.pathsep.join(p for p in path if not p.startswith(str(ROOT)))
    return outside


class Served(NamedTuple):
    status: int
    content: bytes


async def _fetched(address: str) -> tuple[httpx.Response, httpx.Response, dict[str, Served]]:
    """`/health`, `/`, and every file of the page under `/static/`."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        health, page = await http.get("/health"), await http.get("/")
        assets = {}
        for path in WEB.iterdir():
            asset = await http.get(f"/static/{path.name}")
            assets[path.name] = Served(asset.status_code, asset.content)
    return health, page, assets


async def test_the_installed_wheel_alone_serves_the_page_chats_and_says_its_version(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    threadline = _install(built[0], tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"  # the working directory: empty, no clone
    elsewhere.mkdir()
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = _outside_the_clone(process_env(tmp_path, port))

    with running(env, elsewhere, tmp_path / "server.log", command=threadline):
        await wait_ready(port)
        health, page, assets = await _fetched(address)
        async with connect(address, "alice") as chat:
            turn = await chat.turn("hello from the wheel")
        version = await anyio.run_process([threadline, "--version"], env=env, cwd=elsewhere)
        chatted = await anyio.run_process(
            [threadline, "chat", "--url", f"http://{address}", "--user", "bob"],
            input=b"and from its terminal client\n",
            env=env,
            cwd=elsewhere,
            check=False,
        )

    assert health.json() == {"status": "ok", "version": VERSION}
    assert page.status_code == 200
    assert f"Threadline {VERSION}" in page.text
    # Every file of the page, byte for byte as in the clone.
    assert assets == {path.name: Served(200, path.read_bytes()) for path in WEB.iterdir()}
    assert turn.reply["model"] == "threadline-offline"
    assert "[offline model, not an AI]" in turn.reply["content"]
    assert 'You said: "hello from the wheel"' in turn.reply["content"]
    assert version.stdout.decode() == f"threadline {VERSION}\n"
    assert chatted.returncode == 0, chatted.stderr.decode()
    assert 'You said: "and from its terminal client"' in chatted.stdout.decode()
