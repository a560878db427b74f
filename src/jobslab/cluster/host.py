"""The address at which pods in the kind cluster reach the host
(docs/kind.md#how-a-trigger-reaches-a-handler-on-the-host).

Mirrors kind's own node entrypoint: ``host.docker.internal`` if it resolves to a non-loopback
IPv4 address (Docker Desktop), else the node's default gateway (Linux: the kind bridge
gateway, e.g. 172.18.0.1). The result is an IP, so DNS inside the cluster never matters.
"""

from __future__ import annotations

import ipaddress
import logging

from ..errors import ClusterError
from ..processes.runner import Runner

log = logging.getLogger(__name__)


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text.strip())
    except ValueError:
        return None


def host_address(runner: Runner, cluster_name: str) -> str:
    """The IPv4 address of the host as seen from inside cluster ``cluster_name``."""
    node = f"{cluster_name}-control-plane"
    fix = (f"check the cluster runs (`docker ps --filter name={node}`); if not, run "
           "`jobslab cluster up`")
    result = runner.run(
        ["docker", "exec", node, "sh", "-c",
         "getent ahostsv4 host.docker.internal | head -n1 | cut -d' ' -f1"],
        check=False, timeout=30,
    )
    candidate = _ipv4(result.stdout) if result.ok else None
    if candidate is not None and not candidate.is_loopback:
        log.debug("host.docker.internal resolves to %s (Docker Desktop)", candidate)
        return str(candidate)
    route = runner.run(
        ["docker", "exec", node, "ip", "-4", "route", "show", "default"],
        timeout=30, what="reading the kind node's default route", fix=fix,
    )
    fields = route.stdout.split()
    gateway = _ipv4(fields[2]) if len(fields) > 2 and fields[:2] == ["default", "via"] else None
    if gateway is None:
        raise ClusterError(
            f"could not find the host address from {node}: `ip -4 route show default` "
            f"printed {route.stdout.strip()!r}.\n  What to do: {fix}; see "
            "docs/troubleshooting.md (problem 15)."
        )
    log.debug("kind node default gateway %s (Linux)", gateway)
    return str(gateway)
