"""Replica Deployments rendered from the packaged template, validated offline against the
Kubernetes 1.34.0 schemas with kubernetes-validate
(docs/kind.md#how-a-trigger-reaches-a-handler-on-the-host)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml

import jobslab
from jobslab.cluster import pins, render_replicas, to_yaml
from jobslab.cluster.manifests import (
    COMPONENTS_ANNOTATION,
    digest,
    render_components,
    template_text,
)
from support.components import CRON  # a cron binding as a lesson writes one

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
        # Dapr's default, no app health check: an app without /healthz still gets triggers.
        assert not any("health" in key for key in ann)
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
    """Proves the schema check above can fail (docs/troubleshooting.md, problem 22)."""
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


# ---- Dapr Components (serve(..., resources_path=...) on kind) --------------------------------
#: What the components.dapr.io CRD requires, and what render_components promises, written
#: independently of the library's own check (kubernetes-validate has no schema for CRDs).
COMPONENT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec", "scopes"],
    "properties": {
        "apiVersion": {"const": "dapr.io/v1alpha1"},
        "kind": {"const": "Component"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace", "labels"],
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                         "maxLength": 253},
                "namespace": {"const": "default"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["type", "version", "metadata"],
            "properties": {
                "type": {"type": "string", "minLength": 3},
                "version": {"type": "string", "minLength": 1},
                "metadata": {"type": "array", "items": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1}}}},
            },
        },
        "scopes": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
}


def write(folder, name: str, text: str):  # type: ignore[no-untyped-def]
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_components_are_scoped_to_the_app_and_pass_the_crd_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    folder = write(tmp_path / "res", "heartbeat.yaml", CRON)
    write(folder, "notes.yml", "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\n"
          "metadata: {name: r}\nspec: {}\n")  # not a Component: not applied
    write(folder, "README.md", "not yaml: [")                  # not a *.yaml file
    [obj] = render_components(folder, "cron-lab")
    jsonschema.validate(obj, COMPONENT_SCHEMA)
    assert obj["scopes"] == ["cron-lab"]
    assert obj["metadata"]["namespace"] == pins.APP_NAMESPACE
    assert obj["metadata"]["labels"] == {
        "lesson": "7", "app.kubernetes.io/instance": "cron-lab",
        "app.kubernetes.io/managed-by": "jobslab"}
    assert obj["spec"] == yaml.safe_load(CRON)["spec"]          # the spec is left alone
    assert list(yaml.safe_load_all(to_yaml([obj]))) == [obj]    # YAML round trip


def test_the_crd_schema_can_fail() -> None:
    import jsonschema

    bad = yaml.safe_load(CRON)  # as written: no namespace, no scopes
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, COMPONENT_SCHEMA)


def test_existing_scopes_and_namespace_are_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = CRON.replace("  name: heartbeat\n", "  name: heartbeat\n  namespace: other\n")
    folder = write(tmp_path / "res", "c.yaml", text + "scopes: [someone-else]\n")
    [obj] = render_components(folder, "cron-lab", namespace="default")
    assert obj["scopes"] == ["cron-lab"] and obj["metadata"]["namespace"] == "default"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("spec:\n  type: bindings.cron\n  version: v1\n", "spec:\n  type: bindings.cron\n"),
         "spec.version is required"),
        (("type: bindings.cron", "type: cron"), "spec.type 'cron' must name a component type"),
        (('lesson: "7"', "lesson: 7"), "metadata.labels must map strings to strings"),
        (('value: "@every 1s"', 'value: "every second"'), "cron binding 'heartbeat'"),
        (("  - name: schedule\n    value: \"@every 1s\"\n", ""), "needs a 'schedule'"),
        (("name: heartbeat", "name: Heart_Beat"), "metadata.name 'Heart_Beat'"),
        (("apiVersion: dapr.io/v1alpha1", "apiVersion: v1"), "apiVersion must be"),
        (("  - name: direction\n    value: input\n", "  - name: direction\n"),
         r"spec.metadata\[1\] \(direction\) needs a value"),
    ],
)
def test_malformed_components_are_refused_naming_file_and_field(
        tmp_path, change: tuple[str, str], message: str) -> None:  # type: ignore[no-untyped-def]
    old, new = change
    assert old in CRON
    folder = write(tmp_path / "res", "heartbeat.yaml", CRON.replace(old, new))
    with pytest.raises(ValueError, match=message) as err:
        render_components(folder, "cron-lab")
    assert str(err.value).startswith("heartbeat.yaml: ")


def test_two_components_with_one_name_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = write(tmp_path / "res", "a.yaml", CRON)
    write(folder, "b.yaml", CRON)
    with pytest.raises(ValueError, match="a second Component named 'heartbeat'"):
        render_components(folder, "cron-lab")


def test_a_missing_or_unreadable_folder_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="does not exist"):
        render_components(tmp_path / "nowhere", "cron-lab")
    folder = write(tmp_path / "res", "broken.yaml", "kind: [Component\n")
    with pytest.raises(ValueError, match=r"broken\.yaml: not readable as YAML"):
        render_components(folder, "cron-lab")


def test_components_digest_goes_into_the_pod_template() -> None:
    [plain] = render_replicas("cron-lab", [8000], HOST)
    [marked] = render_replicas("cron-lab", [8000], HOST, components_digest="0123abcd")
    assert COMPONENTS_ANNOTATION not in annotations(plain)
    assert annotations(marked)[COMPONENTS_ANNOTATION] == "0123abcd"
    kubernetes_validate.validate(marked, pins.KUBERNETES_VERSION, strict=True)
    assert digest([{"a": 1}]) == digest([{"a": 1}]) != digest([{"a": 2}])
