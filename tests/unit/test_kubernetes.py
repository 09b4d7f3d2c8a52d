"""deploy/kubernetes/ holds valid Kubernetes objects (checked offline against the bundled
schemas, strictly) that drain a replica the way Threadline expects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from threadline.settings import Settings, env_name

MANIFESTS = Path(__file__).parent.parent.parent / "deploy" / "kubernetes"
# The oldest Kubernetes the manifests target (preStop `sleep` needs 1.30 or later).
VERSION = "1.33.0"


def _objects() -> dict[str, dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            document: dict[str, Any] = yaml.safe_load(path.read_text())
            objects[document["kind"]] = document
    return objects


@pytest.mark.parametrize("kind", sorted(_objects()))
def test_each_manifest_is_valid_against_the_kubernetes_schemas(kind: str) -> None:
    kubernetes_validate.validate(_objects()[kind], VERSION, strict=True)


def test_the_validator_rejects_a_manifest_with_a_mistake() -> None:
    broken = copy.deepcopy(_objects()["Deployment"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    present = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(present)


def test_replicas_drain_within_the_termination_grace() -> None:
    objects = _objects()
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    config = objects["ConfigMap"]["data"]
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    # The pause, the turns' grace, then a few seconds for sockets to close.
    assert pod["terminationGracePeriodSeconds"] >= pause + float(config["SHUTDOWN_GRACE"]) + 5
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert objects["Deployment"]["spec"]["replicas"] >= 2
    assert objects["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    assert objects["PodDisruptionBudget"]["spec"]["minAvailable"] >= 1


def test_the_config_and_secret_name_only_real_settings() -> None:
    objects = _objects()
    known = {env_name(field) for field in Settings.__struct_fields__}
    names = set(objects["ConfigMap"]["data"]) | set(objects["Secret"]["stringData"])
    assert names <= known, names - known
