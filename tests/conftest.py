"""What every layer shares: the run's folders, its PostgreSQL when a layer needs one, the
order of the tests and the number of xdist workers.

Light on purpose: a unit run (`uv run pytest tests/unit`) starts no database, no worker
and imports nothing of the app. The fixtures on PostgreSQL live in tests/fixtures.py and
are imported by tests/integration/conftest.py and tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

from tests.heavy import HEAVY_LOCK, heavy_lock
from tests.postgres import start_shared, stop_shared

_EMBEDDED = pytest.StashKey[Any]()
# The run's own folder: the embedded PostgreSQL's data, the lock, the tests' tmp_path.
_OWN_FOLDER = pytest.StashKey[Path]()
_UNIT = Path(__file__).resolve().parent / "unit"
# Workers for a run that reaches beyond tests/unit: most of a test's time is spent waiting
# on sockets and timers, so four workers on two cores finish about twice as fast as one.
WORKERS = 4
# The longest tests start first, so they run side by side on different workers instead of
# ending the run one after another (xdist hands out the first tests round-robin).
_SLOW_FIRST = (
    "integration/test_context_bounds.py",
    "e2e/test_bench_smoke.py",
    "e2e/test_cli.py",
    "e2e/test_package.py",
    "e2e/test_schema_fuzz.py",
    "e2e/test_context.py",
    "integration/test_langgraph_contract.py",
    "e2e/test_faults.py",
    "e2e/test_replicas.py",
)

# Modules whose tests share processes (module-scoped fixtures): each goes whole to one
# worker, which runs its tests one after another (and starts those processes once).
WHOLE_MODULES = ("e2e/test_replicas.py",)


class _Scheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no types
    """xdist's scheduling test by test, except that each of WHOLE_MODULES is one unit.

    Larger units go first. (`--dist loadgroup` would say the same with marks, but it
    renames test ids in a way pytest 9 no longer allows.)
    """

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", maxsplit=1)[0]
        return path if path.endswith(WHOLE_MODULES) else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> _Scheduling:
    return _Scheduling(config, log)


def _unit_only(config: pytest.Config) -> bool:
    """Whether every path the run was given lies in tests/unit (then it needs no server)."""
    here = config.invocation_params.dir
    paths = [(here / arg.split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(path.is_relative_to(_UNIT) for path in paths)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): in-process for tests/unit, else WORKERS."""
    return 0 if _unit_only(config) else WORKERS


@pytest.hookimpl(tryfirst=True)  # before pytest's temporary folders read --basetemp
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist gives each worker its folders inside the controlling process's
    data = Path(tempfile.mkdtemp(prefix="threadline-tests-"))
    config.stash[_OWN_FOLDER] = data
    if config.option.basetemp is None:
        # Not pytest's /tmp/pytest-of-USER, shared by every run, which each run tightens to
        # 0700 as it starts: run as root, a test's own embedded PostgreSQL (in its
        # tmp_path) runs as another user, which must keep passing through.
        config.option.basetemp = str(data / "tmp")
    if _unit_only(config):
        return
    server = start_shared(data / "pgdata")
    if server is not None:  # not a server of one's own (TEST_DATABASE_URL)
        os.environ[HEAVY_LOCK] = str(data / "heavy.lock")
        config.stash[_EMBEDDED] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_EMBEDDED, None)
    if server is not None:
        stop_shared(server)
    data = config.stash.get(_OWN_FOLDER, None)
    if data is not None:
        shutil.rmtree(data, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def slowness(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((i for i, slow in enumerate(_SLOW_FIRST) if path.endswith(slow)), 99)

    slow = sorted((item for item in items if slowness(item) < 99), key=slowness)
    rest = [item for item in items if slowness(item) == 99]
    # xdist hands each worker two tests at first: pair every slow test with a quick one.
    paired = [test for pair in zip(slow, rest, strict=False) for test in pair]
    items[:] = paired + slow[len(paired) // 2 :] + rest[len(paired) // 2 :]


@pytest.fixture
def one_at_a_time() -> Iterator[None]:
    """Run while no other test using this fixture runs, on any worker.

    For tests that start three server processes (two cores would be crowded by several at
    once) and for the timing-sensitive ones those would upset.
    """
    with heavy_lock():
        yield


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
