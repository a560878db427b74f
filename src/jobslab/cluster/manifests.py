"""Render one Deployment per handler replica, and the app's Dapr Components.

Every replica has the same ``dapr.io/app-id`` (so all sidecars share jobs, as replicas of one
app do), its own app port (``8000 + i`` by convention: one uvicorn per replica on the host),
``dapr.io/app-channel-address`` set to the host's IP, and no app health check. The pod's only
container is a placeholder; the sidecar is what matters.

Why no health check: with ``dapr.io/enable-app-health-check`` daprd probes the app's
``/healthz`` and, while the probe fails, never opens its job streams to the Scheduler, so a
learner's app without that route (most FastAPI apps) silently receives no trigger. Dapr's own
default is no app health check; the workbook keeps it, so an app receives triggers on real
Dapr exactly as on the stand-in, whatever routes it has.

Components (``serve(..., resources_path=...)``, e.g. a cron binding) come from the
``kind: Component`` documents of the folder's ``*.yaml``/``*.yml`` files, as the local
stand-in and self-hosted ``daprd`` read them; :func:`render_components` puts each in the app's
namespace with ``scopes: [<app-id>]`` (only this app's sidecars load it) and jobslab's labels.
kubernetes-validate has no schema for Dapr's CRDs, so :func:`check_component` checks the
fields the ``components.dapr.io`` CRD requires and those set here, and each object must
survive a YAML round trip unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import yaml

from .. import pins

TEMPLATE = "replica-deployment.yaml.tmpl"
_APP_ID = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LOG_LEVELS = ("debug", "info", "warn", "error")

#: ``apiVersion`` of Dapr Components, and the resource name kubectl knows them by.
COMPONENT_API_VERSION = "dapr.io/v1alpha1"
COMPONENT_RESOURCE = "components.dapr.io"
#: Pod-template annotation carrying a digest of the app's components: a changed component
#: changes the template, so the sidecars restart and load it (they read components at start).
COMPONENTS_ANNOTATION = "jobslab/components-digest"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_COMPONENT_TYPE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


def app_labels(app_id: str) -> dict[str, str]:
    """The labels jobslab puts on everything it applies for ``app_id``."""
    return {"app.kubernetes.io/instance": app_id, "app.kubernetes.io/managed-by": "jobslab"}


def app_selector(app_id: str) -> str:
    """``kubectl --selector`` for what jobslab applied for ``app_id``."""
    return ",".join(f"{k}={v}" for k, v in app_labels(app_id).items())


def deployment_name(app_id: str, replica: int) -> str:
    """Name of replica ``replica``'s Deployment: ``<app-id>-<i>``."""
    return f"{app_id}-{replica}"


def template_text() -> str:
    return resources.files("jobslab.cluster").joinpath("templates", TEMPLATE).read_text("utf-8")


def _check_app_id(app_id: str) -> None:
    if not _APP_ID.match(app_id) or len(app_id) > 50:
        raise ValueError(
            f"app id {app_id!r} cannot name a Kubernetes Deployment: use lowercase letters, "
            "digits and '-', start and end with a letter or digit, at most 50 characters"
        )


def _check(app_id: str, app_ports: Sequence[int], host_address: str, log_level: str) -> None:
    _check_app_id(app_id)
    if not app_ports:
        raise ValueError("at least one replica (one app port) is needed")
    for port in app_ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"app port {port!r} is not a TCP port (1-65535)")
    try:
        ipaddress.ip_address(host_address)
    except ValueError as exc:
        raise ValueError(f"host address {host_address!r} is not an IP address") from exc
    if log_level not in _LOG_LEVELS:
        raise ValueError(f"log level {log_level!r} is not one of {', '.join(_LOG_LEVELS)}")


def render_replicas(
    app_id: str,
    app_ports: Sequence[int],
    host_address: str,
    *,
    namespace: str = pins.APP_NAMESPACE,
    image: str = pins.PLACEHOLDER_IMAGE,
    log_level: str = "info",
    first_replica: int = 0,
    components_digest: str | None = None,
) -> list[dict[str, Any]]:
    """One Deployment object per entry of ``app_ports`` (replica ``first_replica + i`` →
    ``app_ports[i]``); ``components_digest`` (:func:`digest` of the app's components) goes
    into the pod template, so that new components mean new pods."""
    _check(app_id, app_ports, host_address, log_level)
    template = Template(template_text())
    objects = []
    for replica, port in enumerate(app_ports, start=first_replica):
        text = template.substitute(
            name=deployment_name(app_id, replica), namespace=namespace, app_id=app_id,
            replica=replica, app_port=port, host_address=host_address, image=image,
            log_level=log_level,
        )
        obj = yaml.safe_load(text)
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        bad = {k: v for k, v in annotations.items() if not isinstance(v, str)}
        if bad:  # the template must quote every value (docs/troubleshooting.md, problem 22)
            raise ValueError(f"annotations must be strings, got {bad}")
        if components_digest:
            annotations[COMPONENTS_ANNOTATION] = components_digest
        objects.append(obj)
    return objects


def to_yaml(objects: Sequence[dict[str, Any]]) -> str:
    """A multi-document YAML stream for ``kubectl apply -f -`` (strings stay quoted)."""
    return yaml.safe_dump_all(list(objects), sort_keys=False, default_style=None)


# ---- components -----------------------------------------------------------------------------
def component_documents(resources_path: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """``(file, document)`` for each ``kind: Component`` in the folder's YAML files (or in
    the one file given), in file order; other kinds are not Components and are left out."""
    base = Path(resources_path)
    if not base.exists():
        raise ValueError(f"resources_path {str(base)!r} does not exist")
    files = sorted(base.glob("*.y*ml")) if base.is_dir() else [base]
    found = []
    for file in files:
        try:
            docs = list(yaml.safe_load_all(file.read_text("utf-8")))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ValueError(f"{file.name}: not readable as YAML: {exc}") from None
        found += [(file, doc) for doc in docs
                  if isinstance(doc, dict) and doc.get("kind") == "Component"]
    return found


def render_components(resources_path: str | Path, app_id: str, *,
                      namespace: str = pins.APP_NAMESPACE) -> list[dict[str, Any]]:
    """The Components of ``resources_path``, each made ``app_id``'s: ``metadata.namespace``
    is the app's namespace, ``scopes`` is ``[app_id]`` (so they load only in this app's
    sidecars) and jobslab's labels are added (``undeploy`` deletes by them).

    Raises ``ValueError`` naming the file and the field when a Component is malformed, when
    two share a name, or when an object does not survive a YAML round trip.
    """
    _check_app_id(app_id)
    objects: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for file, doc in component_documents(resources_path):
        obj = copy.deepcopy(doc)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            raise ValueError(f"{file.name}: a Component needs a metadata mapping with a name")
        meta["namespace"] = namespace
        labels = meta.get("labels") or {}
        if not isinstance(labels, dict):
            raise ValueError(f"{file.name}: metadata.labels must be a mapping")
        meta["labels"] = {**labels, **app_labels(app_id)}
        obj["scopes"] = [app_id]
        try:
            check_component(obj)
        except ValueError as exc:
            raise ValueError(f"{file.name}: {exc}") from None
        name = meta["name"]
        if name in seen:
            raise ValueError(f"{file.name}: a second Component named {name!r} "
                             f"(the first is in {seen[name]}); names must be unique")
        seen[name] = file.name
        if yaml.safe_load(to_yaml([obj])) != obj:
            raise ValueError(f"{file.name}: Component {name!r} changes in a YAML round trip")
        objects.append(obj)
    return objects


def check_component(obj: Any) -> None:
    """Check a Dapr Component against the fields the ``components.dapr.io`` CRD requires and
    those :func:`render_components` sets; raise ``ValueError`` naming the first bad field."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(what)

    need(isinstance(obj, dict), "a Component must be a mapping")
    need(obj.get("apiVersion") == COMPONENT_API_VERSION,
         f"apiVersion must be {COMPONENT_API_VERSION!r}, not {obj.get('apiVersion')!r}")
    need(obj.get("kind") == "Component", "kind must be 'Component'")
    meta = obj.get("metadata")
    need(isinstance(meta, dict), "metadata must be a mapping")
    name = meta.get("name")
    need(isinstance(name, str) and bool(_DNS_SUBDOMAIN.match(name)) and len(name) <= 253,
         f"metadata.name {name!r} must be lowercase letters, digits, '-' and '.', starting "
         "and ending with a letter or digit")
    namespace = meta.get("namespace")
    need(isinstance(namespace, str) and bool(_APP_ID.match(namespace)) and len(namespace) <= 63,
         f"metadata.namespace {namespace!r} is not a namespace name")
    labels = meta.get("labels", {})
    need(isinstance(labels, dict) and all(isinstance(k, str) and isinstance(v, str)
                                          for k, v in labels.items()),
         "metadata.labels must map strings to strings (quote numbers)")
    spec = obj.get("spec")
    need(isinstance(spec, dict), "spec must be a mapping")
    need(isinstance(spec.get("type"), str) and bool(_COMPONENT_TYPE.match(spec["type"])),
         f"spec.type {spec.get('type')!r} must name a component type, e.g. 'bindings.cron'")
    need(isinstance(spec.get("version"), str) and bool(spec["version"]),
         "spec.version is required, e.g. 'v1'")
    items = spec.get("metadata")
    need(isinstance(items, list), "spec.metadata must be a list of {name, value} items")
    for i, item in enumerate(items):
        need(isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"],
             f"spec.metadata[{i}] needs a name")
        need("value" in item or isinstance(item.get("secretKeyRef"), dict),
             f"spec.metadata[{i}] ({item['name']}) needs a value or a secretKeyRef")
        try:
            json.dumps(item.get("value"))
        except (TypeError, ValueError):
            raise ValueError(f"spec.metadata[{i}] ({item['name']}): the value must be a "
                             "string, number, boolean, list or mapping") from None
    scopes = obj.get("scopes")
    need(isinstance(scopes, list) and bool(scopes)
         and all(isinstance(s, str) and _APP_ID.match(s) for s in scopes),
         f"scopes {scopes!r} must be a list of app ids")
    if spec["type"] == "bindings.cron":
        _check_cron(name, items)


def _check_cron(name: str, items: list[dict[str, Any]]) -> None:
    """``schedule`` is required and must parse, seconds optional
    (docs/dapr-behaviour.md#cron-bindings)."""
    from ..schedules import ScheduleError, parse

    values = {item["name"]: item.get("value") for item in items}
    schedule = values.get("schedule")
    if not isinstance(schedule, str) or not schedule.strip():
        raise ValueError(f"cron binding {name!r} needs a 'schedule' metadata item, e.g. "
                         "'@every 10s' or '*/5 * * * * *'")
    try:
        parse(schedule, seconds_optional=True)
    except ScheduleError as exc:
        raise ValueError(f"cron binding {name!r}: schedule {schedule!r}: {exc}") from None


def digest(objects: Sequence[dict[str, Any]]) -> str:
    """A short, stable digest of ``objects`` (for :data:`COMPONENTS_ANNOTATION`)."""
    text = json.dumps(list(objects), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
