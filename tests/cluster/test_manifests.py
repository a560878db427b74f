"""Replica Deployments rendered from the packaged template, validated offline against the
Kubernetes 1.34.0 schemas with kubernetes-validate (spec/cluster-path.md §2.3, §6)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml

import jobslab
from jobslab.cluster import pins, render_replicas, to_yaml
from jobslab.cluster.manifests import template_text

HOST = "172.18.0.1"


def annotations(obj: dict) -> dict:
    return obj["spec"]["template"]["metadata"]["annotations"]


def test_pins_agree_with_the_package() -> None:
    assert pins.DAPR_RUNTIME_VERSION == pins.DAPR_CHART_VERSION == jobslab.DAPR_VERSION
    assert pins.KUBERNETES_VERSION == "1.34.0"
    assert pins.KIND_NODE_IMAGE.startswith(f"kindest/node:v{pins.KUBERNETES_VERSION}@sha256:")


def test_template_ships_as_package_data() -> None:
    text = template_text()
    assert "dapr.io/app-channel-address" in text and "${host_address}" in text


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_rendered_replicas_pass_strict_schema_validation(replicas: int) -> None:
    ports = [8000 + i for i in range(replicas)]
    objects = render_replicas("jobs-lab", ports, HOST)
    assert len(objects) == replicas
    for i, obj in enumerate(objects):
        kubernetes_validate.validate(obj, pins.KUBERNETES_VERSION, strict=True)
        assert obj["metadata"]["name"] == f"jobs-lab-{i}"
        ann = annotations(obj)
        assert ann["dapr.io/app-id"] == "jobs-lab"                 # same app-id everywhere
        assert ann["dapr.io/app-port"] == str(8000 + i)
        assert ann["dapr.io/app-channel-address"] == HOST
        assert ann["dapr.io/enabled"] == "true"
        assert ann["dapr.io/enable-app-health-check"] == "true"
        assert ann["dapr.io/app-health-check-path"] == "/healthz"
        assert all(isinstance(v, str) for v in ann.values())
        containers = obj["spec"]["template"]["spec"]["containers"]
        assert [c["image"] for c in containers] == [pins.PLACEHOLDER_IMAGE]
        selector = obj["spec"]["selector"]["matchLabels"]
        assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


def test_yaml_stream_keeps_annotations_quoted() -> None:
    text = to_yaml(render_replicas("jobs-lab", [8000, 8001], HOST))
    assert "dapr.io/app-port: '8000'" in text and "dapr.io/app-port: '8001'" in text
    assert "dapr.io/enabled: 'true'" in text
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        kubernetes_validate.validate(doc, pins.KUBERNETES_VERSION, strict=True)


def test_validator_catches_a_numeric_annotation() -> None:
    """Spec §5 problem 22: proves the schema check above can fail."""
    obj = copy.deepcopy(render_replicas("jobs-lab", [8000], HOST)[0])
    annotations(obj)["dapr.io/app-port"] = 8000
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, pins.KUBERNETES_VERSION, strict=True)


def test_validator_catches_an_unknown_field_in_strict_mode() -> None:
    obj = copy.deepcopy(render_replicas("jobs-lab", [8000], HOST)[0])
    obj["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, pins.KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("app_id", "ports", "host", "message"),
    [
        ("Jobs_Lab", [8000], HOST, "cannot name a Kubernetes Deployment"),
        ("jobs-lab", [], HOST, "at least one replica"),
        ("jobs-lab", [70000], HOST, "not a TCP port"),
        ("jobs-lab", [8000], "host.docker.internal", "not an IP address"),
        ("jobs-lab", [8000], '1.2.3.4"\n  evil: "x', "not an IP address"),
    ],
)
def test_bad_inputs_are_refused_before_rendering(app_id: str, ports: list[int], host: str,
                                                 message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_replicas(app_id, ports, host)
