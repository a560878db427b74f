"""Prerequisite checks for the kind path: one clear message per missing piece.

Version policy (documented in docs/kind.md):

- **docker**: the CLI must be on PATH *and* ``docker info`` must reach a daemon. Error otherwise.
- **kind**: must be at least the pinned v0.30.0 (older releases may not boot the pinned node
  image): error. A newer kind gets a warning: the node image is pinned by digest, so the
  cluster is still Kubernetes 1.34.0, but that pair is not what Dapr's CI tests.
- **kubectl**: required. A client more than one minor version away from the node's 1.34 is
  outside the supported skew: warning.
- **helm**: v3 required (error for v2). Helm 4 changed ``--wait``; it gets a warning, and the
  install does not rely on ``--wait`` alone (explicit ``rollout status`` follows).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .. import pins
from ..errors import ClusterError, CommandError
from ..processes.runner import Runner

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")

INSTALL_HINTS = {
    "docker": "install Docker Desktop (macOS/Windows) or Docker Engine (Linux): "
    "https://docs.docker.com/get-docker/",
    "kind": f"install kind {pins.KIND_VERSION}: curl -Lo ./kind "
    f"https://kind.sigs.k8s.io/dl/{pins.KIND_VERSION}/kind-$(uname -s | tr A-Z a-z)-amd64 "
    "&& chmod +x ./kind && sudo mv ./kind /usr/local/bin/ (use -arm64 on Apple silicon)",
    "kubectl": "install kubectl 1.33-1.35: https://kubernetes.io/docs/tasks/tools/",
    "helm": "install Helm 3: https://helm.sh/docs/intro/install/",
}


class PrerequisiteError(ClusterError):
    """One or more prerequisites are missing; the message lists each with its fix."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``vX.Y.Z`` / ``X.Y.Z`` in ``text``."""
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def fmt(version: tuple[int, int, int] | None) -> str:
    return "v{}.{}.{}".format(*version) if version else "unknown"


@dataclass
class PrereqReport:
    """Versions found, and what is wrong (``problems``) or merely unusual (``warnings``)."""

    versions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise PrerequisiteError(
                f"{len(self.problems)} prerequisite(s) missing for the kind path:\n{lines}\n"
                "  What to do: fix each line above, then run `jobslab cluster up` again."
            )


def _probe(runner: Runner, argv: list[str]) -> str | None:
    try:
        result = runner.run(argv, check=False, timeout=30)
    except CommandError:
        return None
    return result.stdout if result.ok else None


def check_prerequisites(
    runner: Runner, tools: tuple[str, ...] = ("docker", "kind", "kubectl", "helm")
) -> PrereqReport:
    """Check each tool in ``tools``; never raises for a missing tool (see the report)."""
    report = PrereqReport()
    for tool in tools:
        if runner.which(tool) is None:
            report.problems.append(f"{tool}: not found on PATH; {INSTALL_HINTS[tool]}")
            continue
        _CHECKS[tool](runner, report)
    return report


def _check_docker(runner: Runner, report: PrereqReport) -> None:
    result = runner.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30
    )
    if not result.ok or not result.stdout.strip():
        first = (result.output.splitlines() or ["no output"])[0]
        report.problems.append(
            f"docker: the Docker daemon is not reachable (`docker info` said: {first}); "
            "start Docker Desktop, or the docker service on Linux "
            "(`sudo systemctl start docker`)"
        )
        return
    report.versions["docker"] = result.stdout.strip()


def _check_kind(runner: Runner, report: PrereqReport) -> None:
    out = _probe(runner, ["kind", "version"]) or ""
    found, pinned = parse_version(out), parse_version(pins.KIND_VERSION)
    report.versions["kind"] = fmt(found)
    if found is None or pinned is None:
        report.problems.append(f"kind: could not read its version; {INSTALL_HINTS['kind']}")
    elif found < pinned:
        report.problems.append(
            f"kind: {fmt(found)} is older than the pinned {pins.KIND_VERSION}, which the "
            f"pinned node image needs; {INSTALL_HINTS['kind']}"
        )
    elif found != pinned:
        report.warnings.append(
            f"kind {fmt(found)} is newer than the pinned {pins.KIND_VERSION}; the node image "
            f"is pinned by digest (Kubernetes {pins.KUBERNETES_VERSION}), but this pair is "
            "not the one Dapr's CI tests"
        )


def _check_kubectl(runner: Runner, report: PrereqReport) -> None:
    out = _probe(runner, ["kubectl", "version", "--client", "-o", "json"]) or ""
    try:
        found = parse_version(json.loads(out)["clientVersion"]["gitVersion"])
    except (ValueError, KeyError, TypeError):
        found = parse_version(out)
    report.versions["kubectl"] = fmt(found)
    if found is None:
        report.problems.append(f"kubectl: could not read its version; {INSTALL_HINTS['kubectl']}")
        return
    node = parse_version(pins.KUBERNETES_VERSION)
    assert node is not None
    if found[0] != node[0] or abs(found[1] - node[1]) > 1:
        report.warnings.append(
            f"kubectl {fmt(found)} is outside the supported skew of the node's "
            f"Kubernetes {pins.KUBERNETES_VERSION} (use 1.{node[1] - 1}-1.{node[1] + 1})"
        )


def _check_helm(runner: Runner, report: PrereqReport) -> None:
    out = _probe(runner, ["helm", "version", "--short"]) or ""
    found = parse_version(out)
    report.versions["helm"] = fmt(found)
    if found is None or found[0] < pins.HELM_MAJOR:
        report.problems.append(
            f"helm: version {fmt(found)} found, Helm 3 needed; {INSTALL_HINTS['helm']}"
        )
    elif found[0] > pins.HELM_MAJOR:
        report.warnings.append(
            f"helm {fmt(found)}: the install was written for Helm 3 (Helm 4 changed "
            "`--wait`); explicit rollout checks follow, but this is not verified"
        )


_CHECKS = {
    "docker": _check_docker,
    "kind": _check_kind,
    "kubectl": _check_kubectl,
    "helm": _check_helm,
}
