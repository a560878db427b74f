"""Render one Deployment per handler replica from the packaged template.

Every replica has the same ``dapr.io/app-id`` (so all sidecars share jobs, as replicas of one
app do), its own app port (``8000 + i`` by convention: one uvicorn per replica on the host),
``dapr.io/app-channel-address`` set to the host's IP, and the app health check on ``/healthz``.
The pod's only container is a placeholder; the sidecar is what matters.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from importlib import resources
from string import Template
from typing import Any

import yaml

from . import pins

TEMPLATE = "replica-deployment.yaml.tmpl"
_APP_ID = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LOG_LEVELS = ("debug", "info", "warn", "error")


def deployment_name(app_id: str, replica: int) -> str:
    """Name of replica ``replica``'s Deployment: ``<app-id>-<i>``."""
    return f"{app_id}-{replica}"


def template_text() -> str:
    return resources.files("jobslab.cluster").joinpath("templates", TEMPLATE).read_text("utf-8")


def _check(app_id: str, app_ports: Sequence[int], host_address: str, log_level: str) -> None:
    if not _APP_ID.match(app_id) or len(app_id) > 50:
        raise ValueError(
            f"app id {app_id!r} cannot name a Kubernetes Deployment: use lowercase letters, "
            "digits and '-', start and end with a letter or digit, at most 50 characters"
        )
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
) -> list[dict[str, Any]]:
    """One Deployment object per entry of ``app_ports`` (replica ``first_replica + i`` →
    ``app_ports[i]``)."""
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
        if bad:  # the template must quote every value (spec §5, problem 22)
            raise ValueError(f"annotations must be strings, got {bad}")
        objects.append(obj)
    return objects


def to_yaml(objects: Sequence[dict[str, Any]]) -> str:
    """A multi-document YAML stream for ``kubectl apply -f -`` (strings stay quoted)."""
    return yaml.safe_dump_all(list(objects), sort_keys=False, default_style=None)
