"""compose.yaml and .env.example, read as an operator's tools would read them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from threadline.settings import Settings, read_dotenv

ROOT = Path(__file__).parent.parent.parent


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    compose: dict[str, dict[str, dict[str, object]]] = yaml.safe_load(
        (ROOT / "compose.yaml").read_text()
    )
    return compose


def _seconds(duration: object) -> float:
    match = re.fullmatch(r"(\d+)s", str(duration))
    assert match, duration
    return float(match[1])


def _replicas() -> list[dict[str, object]]:
    services = _compose()["services"]
    return [services[name] for name in services if name.startswith("app-")]


def test_compose_runs_two_replicas_behind_a_proxy_that_alone_is_published() -> None:
    services = _compose()["services"]
    replicas = _replicas()
    assert len(replicas) == 2
    assert replicas[0] == replicas[1]  # one definition, twice
    assert all("ports" not in app for app in replicas)
    assert services["proxy"]["ports"] == ["127.0.0.1:${PORT:-8000}:${PORT:-8000}"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy app-1:8000 app-2:8000" in caddyfile
    assert "health_uri /ready" in caddyfile  # a draining replica leaves the rotation
    volumes = services["proxy"]["volumes"]
    assert isinstance(volumes, list)
    assert volumes[0].startswith("./deploy/Caddyfile:/etc/caddy/Caddyfile")


def test_compose_replicas_check_their_own_readiness() -> None:
    app = _replicas()[0]
    healthcheck = app["healthcheck"]
    assert isinstance(healthcheck, dict)
    probe = healthcheck["test"][-1]
    compile(probe, "healthcheck", "exec")  # the command is valid Python
    assert "os.environ.get('PORT', '8000')" in probe


def test_compose_gives_running_replies_longer_than_the_shutdown_grace() -> None:
    app = _replicas()[0]
    assert app["stop_signal"] == "SIGTERM"  # the signal that drains
    assert _seconds(app["stop_grace_period"]) >= Settings().shutdown_grace + 10


def test_compose_takes_the_database_password_from_env_not_from_the_file() -> None:
    text = (ROOT / "compose.yaml").read_text()
    services = _compose()["services"]
    postgres_env = services["postgres"]["environment"]
    app_env = _replicas()[0]["environment"]
    assert isinstance(postgres_env, dict)
    assert isinstance(app_env, dict)
    assert postgres_env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "${POSTGRES_PASSWORD:?" in app_env["DATABASE_URL"]
    assert "threadline:threadline@" not in text


def test_compose_database_has_pgvector() -> None:
    # Memories, documents and search create the `vector` extension at start-up.
    image = str(_compose()["services"]["postgres"]["image"])
    assert image.startswith("docker.io/pgvector/pgvector:pg")


def test_env_example_leaves_the_images_data_directory_alone() -> None:
    # The image sets THREADLINE_DATA_DIR=/data; a copied .env.example must not change it.
    assert "THREADLINE_DATA_DIR" not in read_dotenv(ROOT / ".env.example")


def test_the_container_listens_on_every_interface_whatever_env_example_says() -> None:
    # The default HOST is loopback; inside a container that would be unreachable.
    assert "HOST" not in read_dotenv(ROOT / ".env.example")
    environment = _replicas()[0]["environment"]
    assert isinstance(environment, dict)
    assert environment["HOST"] == "0.0.0.0"
    assert "HOST=0.0.0.0" in (ROOT / "Containerfile").read_text()
