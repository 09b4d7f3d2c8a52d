"""compose.yaml, the Containerfile and .env.example, read as an operator's tools would."""

from __future__ import annotations

import re
import tomllib
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


def _stages() -> list[str]:
    """The Containerfile's stages, each from its FROM line."""
    text = (ROOT / "Containerfile").read_text()
    return ["FROM " + stage for stage in re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]]


def _copied(stage: str) -> set[str]:
    """What a stage's COPY lines take from the build context (not from another stage)."""
    lines = re.findall(r"^COPY (?!--from)(.+)$", stage, re.MULTILINE)
    return {source for line in lines for source in line.split()[:-1]}


def test_the_image_installs_the_wheel_uv_build_makes_not_the_source_tree() -> None:
    builder, final = _stages()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    commands = " ".join(builder.replace("\\\n", " ").split())

    # Every uv sync installs the locked dependencies only; the project comes as the wheel.
    assert all("--no-install-project" in sync for sync in commands.split("uv sync")[1:])
    assert "uv build --wheel" in commands
    assert "uv pip install --offline" in commands  # nothing beyond the locked dependencies
    # The build reads these: a file named in pyproject.toml but not copied fails it.
    needed = {"pyproject.toml", "src", project["readme"], *project["license-files"]}
    assert needed <= _copied(builder)
    # The image gets the virtualenv, with the wheel installed in it, and nothing else.
    assert re.findall(r"^COPY .+$", final, re.MULTILINE) == [
        "COPY --from=builder --chown=threadline:threadline /app/.venv /app/.venv"
    ]
