"""The version, written once in pyproject.toml, wherever it is shown: `/health`, the page's
footer, the metrics' build info and `threadline --version`."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import THREADLINE
from tests.project import VERSION
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_health_names_the_version(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        health = await http.get(f"http://{address}/health")

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": VERSION}


async def test_the_pages_footer_shows_the_version(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        page = await http.get(f"http://{address}/")

    footers = re.findall(r"<footer>(.*?)</footer>", page.text, re.DOTALL)
    assert len(footers) == 1
    shown = re.sub(r"<[^>]+>", " ", footers[0])  # the footer's text, without its markup
    assert f"Threadline {VERSION}" in " ".join(shown.split())


async def test_the_metrics_name_the_version_in_their_build_info(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        text = (await http.get(f"http://{address}/metrics")).text

    samples = [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "threadline_build_info"
    ]
    assert samples == [({"version": VERSION}, 1.0)]


def test_threadline_version_prints_the_version() -> None:
    shown = subprocess.run(
        [THREADLINE, "--version"], capture_output=True, text=True, timeout=60, check=False
    )

    assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"threadline {VERSION}\n", "")
