"""The kind cluster with Dapr installed by Helm: up, down, status
(docs/kind.md#the-kind-path-step-by-step, docs/kind.md#chart-values).

Every step first looks at what exists, so ``up`` is idempotent: a second run finds the
cluster and the release, only re-checks the rollouts, and says there was nothing to do. A
failing step raises :class:`~jobslab.errors.ClusterError` (a failed command:
:class:`~jobslab.errors.CommandError`) and leaves a state the next ``up`` repairs: a
half-created cluster is deleted, a release that is not ``deployed`` is uninstalled and
installed again (the Scheduler PVCs, and so the jobs, survive that).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import pins
from ..errors import ClusterError, CommandError
from ..processes.runner import Runner
from .prereqs import PrereqReport, check_prerequisites
from .progress import Progress

TROUBLESHOOTING = "docs/troubleshooting.md"


@dataclass(frozen=True)
class Release:
    """A Helm release as ``helm list -o json`` shows it."""

    name: str
    status: str
    chart: str
    app_version: str

    @property
    def chart_version(self) -> str:
        return self.chart.rpartition("-")[2]


@dataclass
class UpResult:
    """What ``up`` changed (empty: it was already up)."""

    changed: list[str] = field(default_factory=list)
    prereqs: PrereqReport | None = None

    @property
    def nothing_to_do(self) -> bool:
        return not self.changed


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    ready: int
    desired: int

    @property
    def is_ready(self) -> bool:
        return self.desired > 0 and self.ready >= self.desired


@dataclass
class ClusterStatus:
    """A snapshot for ``jobslab cluster status``."""

    name: str
    context: str
    exists: bool
    release: Release | None = None
    workloads: list[Workload] = field(default_factory=list)
    apps: list[Workload] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return (
            self.exists
            and self.release is not None
            and self.release.status == "deployed"
            and bool(self.workloads)
            and all(w.is_ready for w in self.workloads)
        )


class KindCluster:
    """One named kind cluster and the Dapr release in it.

    ``runner`` runs the external tools (tests pass one whose PATH holds fakes); ``progress``
    receives one line per step (see :class:`~jobslab.cluster.progress.Progress`).
    """

    def __init__(
        self,
        name: str = pins.CLUSTER_NAME,
        *,
        runner: Runner | None = None,
        progress: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.runner = runner or Runner()
        self.progress: Callable[..., None] = progress or Progress()

    # ---- names -------------------------------------------------------------------------
    @property
    def context(self) -> str:
        """The kubectl context kind creates for this cluster."""
        return f"kind-{self.name}"

    @property
    def node_container(self) -> str:
        """The Docker container of the control-plane node."""
        return f"{self.name}-control-plane"

    def kubectl(self, *args: str) -> list[str]:
        """A kubectl command line pinned to this cluster's context."""
        return ["kubectl", "--context", self.context, *args]

    def helm(self, *args: str) -> list[str]:
        """A helm command line pinned to this cluster's context and Dapr's namespace."""
        return ["helm", *args, "--namespace", pins.HELM_NAMESPACE, "--kube-context", self.context]

    # ---- observation -------------------------------------------------------------------
    def exists(self) -> bool:
        result = self.runner.run(
            ["kind", "get", "clusters"], timeout=60, what="listing kind clusters",
            fix="check that Docker is running (`docker info`)",
        )
        return self.name in result.stdout.split()

    def release(self) -> Release | None:
        result = self.runner.run(
            self.helm("list", "--all", "--output", "json", "--filter", f"^{pins.HELM_RELEASE}$"),
            timeout=60,
            what="reading the Dapr Helm release",
            fix=f"check the cluster answers: kubectl --context {self.context} get nodes",
        )
        try:
            rows = json.loads(result.stdout or "[]")
        except ValueError as exc:
            raise ClusterError(f"`helm list` printed something that is not JSON: {exc}") from exc
        for row in rows or []:
            if row.get("name") == pins.HELM_RELEASE:
                return Release(
                    row["name"], str(row.get("status", "")), str(row.get("chart", "")),
                    str(row.get("app_version", "")),
                )
        return None

    def _workloads(self, namespace: str, kinds: str, selector: str | None = None
                   ) -> list[Workload]:
        args = ["get", kinds, "--namespace", namespace, "--output", "json"]
        if selector:
            args += ["--selector", selector]
        result = self.runner.run(self.kubectl(*args), timeout=60, what="reading workloads")
        items = json.loads(result.stdout or "{}").get("items", [])
        return [
            Workload(
                item.get("kind", "").lower(),
                item["metadata"]["name"],
                int(item.get("status", {}).get("readyReplicas", 0) or 0),
                int(item.get("spec", {}).get("replicas", 0) or 0),
            )
            for item in items
        ]

    def status(self) -> ClusterStatus:
        status = ClusterStatus(self.name, self.context, self.exists())
        if not status.exists:
            return status
        status.release = self.release()
        status.workloads = self._workloads(pins.HELM_NAMESPACE, "deployments,statefulsets")
        status.apps = self._workloads(
            pins.APP_NAMESPACE, "deployments", "app.kubernetes.io/managed-by=jobslab"
        )
        return status

    # ---- changes -----------------------------------------------------------------------
    def up(self) -> UpResult:
        """Create the cluster and install Dapr, skipping what is already there."""
        outcome = UpResult()
        self.progress("Checking prerequisites (docker, kind, kubectl, helm)", "wait")
        report = check_prerequisites(self.runner)
        outcome.prereqs = report
        for warning in report.warnings:
            self.progress(warning, "warn")
        report.raise_for_problems()
        found = ", ".join(f"{k} {v}" for k, v in report.versions.items())
        self.progress(f"Found {found}")

        if self.exists():
            self.progress(f"kind cluster {self.name} exists (context {self.context})")
        else:
            self._create_cluster()
            outcome.changed.append("cluster")
        self._check_storage_class()

        release = self.release()
        if release and release.status == "deployed" and \
                release.chart_version == pins.DAPR_CHART_VERSION:
            self.progress(f"Dapr {pins.DAPR_CHART_VERSION} is installed "
                          f"(Helm release {release.name}, {release.status})")
        else:
            self._install_dapr(release)
            outcome.changed.append("dapr")

        self.wait_for_dapr()
        if outcome.nothing_to_do:
            self.progress(
                f"kind cluster {self.name} with Dapr {pins.DAPR_CHART_VERSION} is already up, "
                "nothing to do", "ok")
        else:
            self.progress(
                f"kind cluster {self.name} with Dapr {pins.DAPR_CHART_VERSION} is up "
                f"(kubectl context {self.context})", "ok")
        return outcome

    def _create_cluster(self) -> None:
        self.progress(
            f"Creating kind cluster {self.name} from {pins.KIND_NODE_IMAGE.split('@')[0]} "
            "(the first run also pulls the node image)", "wait")
        argv = ["kind", "create", "cluster", "--name", self.name,
                "--image", pins.KIND_NODE_IMAGE, "--wait", pins.KIND_WAIT]
        try:
            self.runner.run(argv, timeout=900, what=f"creating kind cluster {self.name}")
        except CommandError as exc:
            # kind may leave a node container behind; remove it so the next run starts clean.
            self.runner.run(["kind", "delete", "cluster", "--name", self.name],
                            check=False, timeout=300)
            raise ClusterError(
                f"{exc}\n  What to do: the partial cluster was deleted. Check Docker "
                f"(disk space, `docker info`) and see {TROUBLESHOOTING} (kind on Linux/WSL2), "
                "then run `jobslab cluster up` again."
            ) from exc
        self.progress(f"kind cluster {self.name} created", "ok")

    def _check_storage_class(self) -> None:
        result = self.runner.run(
            self.kubectl("get", "storageclass", "--output", "json"), check=False, timeout=60)
        if not result.ok:
            return
        items = json.loads(result.stdout or "{}").get("items", [])
        default = [
            i["metadata"]["name"] for i in items
            if i["metadata"].get("annotations", {}).get(
                "storageclass.kubernetes.io/is-default-class") == "true"
        ]
        if not default:
            self.progress(
                "no default StorageClass: the Scheduler's PVCs will stay Pending "
                f"(see {TROUBLESHOOTING}, problem 1)", "warn")

    def _install_dapr(self, release: Release | None) -> None:
        fix = (f"look at `kubectl --context {self.context} -n {pins.HELM_NAMESPACE} get pods,pvc` "
               f"and {TROUBLESHOOTING}; then run `jobslab cluster up` again (a failed release "
               "is removed and reinstalled; jobs in the Scheduler's volumes survive)")
        if release is not None and release.status != "deployed":
            self.progress(f"Helm release {release.name} is {release.status}; removing it first",
                          "warn")
            self.runner.run(
                self.helm("uninstall", release.name, "--wait", "--timeout", "5m"),
                timeout=400, what="removing the unfinished Dapr release", fix=fix)
        verb = "Upgrading" if release is not None and release.status == "deployed" else "Installing"
        self.progress(f"{verb} Dapr {pins.DAPR_CHART_VERSION} with Helm "
                      f"(release {pins.HELM_RELEASE}, namespace {pins.HELM_NAMESPACE})", "wait")
        self.runner.run(
            ["helm", "repo", "add", pins.HELM_REPO_NAME, pins.HELM_REPO_URL, "--force-update"],
            timeout=120, what="adding the Dapr Helm repository",
            fix="check the network connection to https://dapr.github.io")
        self.runner.run(["helm", "repo", "update", pins.HELM_REPO_NAME], timeout=120,
                        what="updating the Dapr Helm repository",
                        fix="check the network connection to https://dapr.github.io")
        sets = [a for key, value in pins.HELM_VALUES.items() for a in ("--set", f"{key}={value}")]
        self.runner.run(
            self.helm("upgrade", "--install", pins.HELM_RELEASE, pins.HELM_CHART,
                      "--version", pins.DAPR_CHART_VERSION, "--create-namespace", *sets,
                      "--wait", "--timeout", pins.HELM_TIMEOUT),
            timeout=900, what=f"installing Dapr {pins.DAPR_CHART_VERSION}", fix=fix)
        self.progress(f"Dapr {pins.DAPR_CHART_VERSION} installed", "ok")

    def wait_for_dapr(self, timeout: str = pins.ROLLOUT_TIMEOUT) -> None:
        """``rollout status`` for each control-plane workload, then every pod Ready."""
        fix = (f"see `kubectl --context {self.context} -n {pins.HELM_NAMESPACE} get pods,pvc` "
               f"and {TROUBLESHOOTING} (problems 1, 2); run `jobslab cluster up` again to resume")
        for kind, name in pins.DAPR_WORKLOADS:
            self.progress(f"Waiting for {kind}/{name}", "wait")
            self.runner.run(
                self.kubectl("rollout", "status", f"{kind}/{name}", "--namespace",
                             pins.HELM_NAMESPACE, f"--timeout={timeout}"),
                timeout=_seconds(timeout) + 30, what=f"waiting for {kind}/{name}", fix=fix)
        self.runner.run(
            self.kubectl("wait", "--for=condition=Ready", "pod", "--all", "--namespace",
                         pins.HELM_NAMESPACE, f"--timeout={timeout}"),
            timeout=_seconds(timeout) + 30, what="waiting for the Dapr pods", fix=fix)
        self.progress("Dapr control plane is ready", "ok")

    def down(self) -> bool:
        """Delete the cluster (the only clean reset: the Scheduler's PVCs outlive a Helm
        uninstall, docs/kind.md#chart-values). False if there was none."""
        if not self.exists():
            self.progress(f"no kind cluster {self.name}, nothing to do", "ok")
            return False
        self.progress(f"Deleting kind cluster {self.name}", "wait")
        self.runner.run(["kind", "delete", "cluster", "--name", self.name], timeout=300,
                        what=f"deleting kind cluster {self.name}",
                        fix="check `docker ps` and run `jobslab cluster down` again")
        self.progress(f"kind cluster {self.name} deleted", "ok")
        return True


def _seconds(duration: str) -> float:
    """``300s`` / ``10m`` → seconds (only the forms used in pins)."""
    unit = {"s": 1, "m": 60, "h": 3600}[duration[-1]]
    return float(duration[:-1]) * unit
