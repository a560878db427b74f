"""``KindBackend``: what ``jobslab.connect``/``jobslab.serve`` call when ``JOBSLAB_BACKEND=kind``.

The handler runs on the host (uvicorn, one per replica, bound to :attr:`handler_bind_host`);
for each replica a Deployment in the cluster carries a Dapr sidecar pointed at the host
(``dapr.io/app-channel-address``), and a ``kubectl port-forward`` brings that sidecar's HTTP
port to ``127.0.0.1:<base_http_port + i>``. Notebook code then talks to
``http://127.0.0.1:3500`` exactly as on the local backend.

Order matters (docs/kind.md#how-a-trigger-reaches-a-handler-on-the-host): start the handlers
first, then :meth:`KindBackend.deploy` — the rollout only completes once each sidecar has
reached its handler. Components (:attr:`KindBackend.resources_path`, e.g. a cron binding) are
applied before the Deployments, because a sidecar loads its components when it starts.

Kernel hygiene: the port-forwards are recorded in ``<state dir>/kind/port-forward-<port>.json``
and run under a guard that dies with the kernel; :meth:`KindBackend.ensure` (so
``jobslab.connect()``) stops any whose kernel is gone (see :mod:`.portforward`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import paths, pins, settings
from ..errors import ClusterError
from ..processes.runner import Runner
from .kind import KindCluster
from .manifests import (
    COMPONENT_RESOURCE,
    app_selector,
    deployment_name,
    digest,
    render_components,
    render_replicas,
    to_yaml,
)
from .portforward import PortForward, PortForwardManager, cleanup_stale

log = logging.getLogger(__name__)

UP_HINT = "run `jobslab cluster up` (or `make cluster-up`) first, then run this cell again"


class KindBackend:
    """Real Dapr 1.18.3 in a kind cluster, reached through port-forwards.

    Interface shared with :class:`jobslab.selfhosted.SelfHostedBackend`:

    - ``name`` — ``"kind"``.
    - ``handler_bind_host`` — the address uvicorn must bind (``0.0.0.0``: on Linux the cluster
      reaches the host through the bridge gateway, never through loopback).
    - ``supports_job_list`` / ``supports_scheduler_restart`` — False: Dapr has no HTTP list
      of jobs, and the Scheduler is a StatefulSet the workbook does not restart. Callers
      should say so and skip.
    - :meth:`ensure` — check the cluster is up; raise :class:`ClusterError` telling to run
      ``jobslab cluster up`` otherwise. Never creates a cluster implicitly.
    - :meth:`deploy` ``(app_id, replicas, app_ports) -> [sidecar HTTP ports on 127.0.0.1]``.
    - :meth:`undeploy` ``(app_id)``, :meth:`close` (stop every port-forward).
    - :meth:`deploy_replica` / :meth:`undeploy_replica` / :meth:`replica_alive` — one replica
      at a time (``jobslab.serve``'s ``handle.replicas[i].stop()`` and ``.start()``).
    - ``resources_path`` — when set, the ``kind: Component`` documents there are applied,
      scoped to the app, before its Deployments, and deleted by :meth:`undeploy`.
    """

    name = "kind"
    handler_bind_host = "0.0.0.0"
    supports_job_list = False
    supports_scheduler_restart = False

    def __init__(
        self,
        cluster_name: str = pins.CLUSTER_NAME,
        *,
        runner: Runner | None = None,
        state_dir: str | Path | None = None,
        base_http_port: int = settings.DAPR_HTTP_PORT,
        rollout_timeout: float = 180.0,
        watchdog_interval: float = 0.5,
        progress: Callable[..., None] | None = None,
    ) -> None:
        self.runner = runner or Runner()
        self.cluster = KindCluster(cluster_name, runner=self.runner, progress=progress)
        self._state_dir = Path(state_dir) if state_dir else None
        self.base_http_port = base_http_port
        self.rollout_timeout = rollout_timeout
        self.forwards = PortForwardManager(self.runner, interval=watchdog_interval)
        self._host: str | None = None
        self._ensured = False
        self._ports: dict[str, dict[int, int]] = {}  # app id -> replica -> local port
        self.resources_path: Path | None = None
        self._components: dict[str, str] = {}  # app id -> digest of the components applied

    @property
    def state_dir(self) -> Path:
        base = paths.state_dir(self._state_dir) / "kind"
        base.mkdir(parents=True, exist_ok=True)
        return base

    # ---- lifecycle ---------------------------------------------------------------------
    def ensure(self) -> None:
        """Stop port-forwards left by a kernel that is gone; check the cluster, the Dapr
        release and the sidecar injector are ready."""
        self.cleanup_stale_forwards()
        if self._ensured:
            return
        if self.runner.which("kubectl") is None or self.runner.which("kind") is None:
            raise ClusterError(f"kind and kubectl are needed for JOBSLAB_BACKEND=kind; "
                               f"see docs/kind.md, then {UP_HINT}")
        if not self.cluster.exists():
            raise ClusterError(f"there is no kind cluster {self.cluster.name}; {UP_HINT}")
        release = self.cluster.release()
        if release is None or release.status != "deployed":
            state = "not installed" if release is None else release.status
            raise ClusterError(f"Dapr is {state} in kind cluster {self.cluster.name}; {UP_HINT}")
        # Pods created before the injector is ready get no sidecar (docs/troubleshooting.md,
        # problem 14).
        self.runner.run(
            self.cluster.kubectl("rollout", "status", "deployment/dapr-sidecar-injector",
                                 "--namespace", pins.HELM_NAMESPACE, "--timeout=60s"),
            timeout=90, what="checking the Dapr sidecar injector", fix=UP_HINT)
        self._ensured = True

    def cleanup_stale_forwards(self) -> list[int]:
        """Stop the port-forwards recorded in the state dir whose kernel is gone (killed, or
        restarted); return the local ports now free."""
        freed = cleanup_stale(self.state_dir)
        if freed:
            log.info("stopped port-forwards left by a finished kernel on ports %s", freed)
        return freed

    def host_address(self) -> str:
        """The host's IP as pods see it (cached; see :mod:`jobslab.cluster.host`)."""
        if self._host is None:
            from .host import host_address

            self._host = host_address(self.runner, self.cluster.name)
        return self._host

    def deploy(self, app_id: str, replicas: int, app_ports: Sequence[int]) -> list[int]:
        """Deploy ``replicas`` sidecars for ``app_id`` pointed at ``app_ports`` on the host.

        Replica ``i`` gets Deployment ``<app_id>-<i>`` and its sidecar HTTP port forwarded to
        ``127.0.0.1:<base_http_port + i>``; the list of those local ports is returned. Replicas
        beyond ``replicas`` left from an earlier call are deleted. Blocks until each rollout
        is complete, i.e. until each sidecar has reached its handler.
        """
        if replicas != len(app_ports):
            raise ValueError(f"{replicas} replicas need {replicas} app ports, got {app_ports}")
        components = self._render_components(app_id)
        self.ensure()
        objects = render_replicas(app_id, list(app_ports), self.host_address(),
                                  components_digest=digest(components) if components else None)
        self._apply_components(app_id, components)
        self.runner.run(
            self.cluster.kubectl("apply", "-f", "-"), input=to_yaml(objects), timeout=120,
            what=f"applying the Deployments of {app_id}",
            fix=f"check the cluster answers (`kubectl --context {self.cluster.context} get nodes`)")
        self._delete_extra(app_id, replicas)
        for replica in range(replicas):
            self._wait_ready(app_id, replica, app_ports[replica])
        ports = {replica: self._forward(app_id, replica) for replica in range(replicas)}
        for replica, stale in self._ports.get(app_id, {}).items():
            if replica >= replicas:
                self.forwards.remove(stale)
        self._ports[app_id] = ports
        return list(ports.values())

    def _forward(self, app_id: str, replica: int) -> int:
        port = self.base_http_port + replica
        self.forwards.add(PortForward(
            self.runner, f"deployment/{deployment_name(app_id, replica)}", port,
            context=self.cluster.context, log_path=self.state_dir / f"port-forward-{port}.log",
            pid_dir=self.state_dir))
        return port

    # ---- components ----------------------------------------------------------------------
    def _render_components(self, app_id: str) -> list[dict[str, Any]]:
        if self.resources_path is None:
            return []
        try:
            return render_components(self.resources_path, app_id)
        except ValueError as exc:
            raise ClusterError(
                f"the components in {self.resources_path} cannot be applied: {exc}.\n  What "
                "to do: fix the file (a `kind: Component` with metadata.name, spec.type, "
                "spec.version and spec.metadata; a cron binding needs a valid `schedule`) and "
                "run the cell again.") from exc

    def _managed_components(self) -> dict[str, str]:
        """Components jobslab applied in the app namespace: name -> app id."""
        result = self.runner.run(
            self.cluster.kubectl("get", COMPONENT_RESOURCE, "--namespace", pins.APP_NAMESPACE,
                                 "--output", "json", "--selector",
                                 "app.kubernetes.io/managed-by=jobslab"),
            timeout=60, what="listing the Dapr components jobslab applied")
        return {i["metadata"]["name"]:
                i["metadata"].get("labels", {}).get("app.kubernetes.io/instance", "")
                for i in json.loads(result.stdout or "{}").get("items", [])}

    def _apply_components(self, app_id: str, components: list[dict[str, Any]]) -> None:
        """Apply ``app_id``'s components (before its Deployments: sidecars load components
        when they start) and delete those it had before but no longer has."""
        if not components:
            self._delete_components(app_id)  # e.g. left by a kernel that was killed
            return
        names = [str(c["metadata"]["name"]) for c in components]
        existing = self._managed_components()
        taken = {n: existing[n] for n in names if existing.get(n, app_id) != app_id}
        if taken:
            name, owner = next(iter(taken.items()))
            raise ClusterError(
                f"the Dapr component {name!r} is already applied for app {owner!r} in cluster "
                f"{self.cluster.name}.\n  What to do: stop that app's handle "
                f"(`handle.stop()`); if no notebook serves {owner!r} any more, delete it "
                f"(`kubectl --context {self.cluster.context} delete {COMPONENT_RESOURCE} "
                f"{name}`); or give your component another metadata.name in "
                f"{self.resources_path}.")
        self.runner.run(
            self.cluster.kubectl("apply", "-f", "-"), input=to_yaml(components), timeout=120,
            what=f"applying the Dapr components of {app_id}",
            fix=f"check Dapr is installed (`kubectl --context {self.cluster.context} get crd "
                f"{COMPONENT_RESOURCE}`); if not, run `jobslab cluster up`")
        self._components[app_id] = digest(components)
        stale = sorted(n for n, owner in existing.items() if owner == app_id and n not in names)
        if stale:
            self.runner.run(
                self.cluster.kubectl("delete", COMPONENT_RESOURCE, "--namespace",
                                     pins.APP_NAMESPACE, "--ignore-not-found", *stale),
                timeout=120, what=f"removing Dapr components {app_id} no longer has")

    def _delete_components(self, app_id: str) -> None:
        self.runner.run(
            self.cluster.kubectl("delete", COMPONENT_RESOURCE, "--namespace", pins.APP_NAMESPACE,
                                 "--ignore-not-found", "--selector", app_selector(app_id)),
            timeout=120, what=f"deleting the Dapr components of {app_id}")
        self._components.pop(app_id, None)

    def deploy_replica(self, app_id: str, replica: int, app_port: int) -> int:
        """(Re)deploy replica ``replica`` of ``app_id`` alone; return its local sidecar port.

        For a replica stopped with :meth:`undeploy_replica` and started again: the other
        replicas' Deployments and port-forwards are left alone.
        """
        components = self._render_components(app_id)
        self.ensure()
        if components and self._components.get(app_id) != digest(components):
            self._apply_components(app_id, components)  # not there yet (or changed)
        [obj] = render_replicas(app_id, [app_port], self.host_address(), first_replica=replica,
                                components_digest=digest(components) if components else None)
        self.runner.run(
            self.cluster.kubectl("apply", "-f", "-"), input=to_yaml([obj]), timeout=120,
            what=f"applying replica {replica} of {app_id}",
            fix=f"check the cluster answers (`kubectl --context {self.cluster.context} get nodes`)")
        self._wait_ready(app_id, replica, app_port)
        port = self._forward(app_id, replica)
        self._ports.setdefault(app_id, {})[replica] = port
        return port

    def undeploy_replica(self, app_id: str, replica: int) -> None:
        """Stop replica ``replica``'s port-forward and delete its Deployment (a crashed pod)."""
        port = self._ports.get(app_id, {}).pop(replica, None)
        if port is not None:
            self.forwards.remove(port)
        self.runner.run(
            self.cluster.kubectl("delete", "deployment", "--namespace", pins.APP_NAMESPACE,
                                 "--ignore-not-found", deployment_name(app_id, replica)),
            timeout=120, what=f"deleting replica {replica} of {app_id}")

    def replica_alive(self, app_id: str, replica: int) -> bool:
        """True while replica ``replica`` is deployed and its port-forward runs (or is being
        restarted by the watchdog)."""
        port = self._ports.get(app_id, {}).get(replica)
        return port is not None and any(f.local_port == port for f in self.forwards.forwards)

    def _deployments(self, app_id: str) -> list[str]:
        result = self.runner.run(
            self.cluster.kubectl(
                "get", "deployments", "--namespace", pins.APP_NAMESPACE, "--output", "json",
                "--selector", app_selector(app_id)),
            timeout=60, what=f"listing the Deployments of {app_id}")
        return [i["metadata"]["name"] for i in json.loads(result.stdout or "{}").get("items", [])]

    def _delete_extra(self, app_id: str, replicas: int) -> None:
        wanted = {deployment_name(app_id, i) for i in range(replicas)}
        extra = sorted(set(self._deployments(app_id)) - wanted)
        if extra:
            self.runner.run(
                self.cluster.kubectl("delete", "deployment", "--namespace", pins.APP_NAMESPACE,
                                     "--ignore-not-found", *extra),
                timeout=120, what=f"removing surplus replicas of {app_id}")

    def _wait_ready(self, app_id: str, replica: int, app_port: int) -> None:
        name = deployment_name(app_id, replica)
        fix = (f"the sidecar waits until {self.host_address()}:{app_port} accepts connections: "
               f"start the handler first, bound to 0.0.0.0 (not 127.0.0.1); check a firewall; "
               f"read `kubectl --context {self.cluster.context} logs deployment/{name} -c daprd`; "
               "see docs/troubleshooting.md (problem 15)")
        rollout = self.cluster.kubectl(
            "rollout", "status", f"deployment/{name}", "--namespace", pins.APP_NAMESPACE,
            f"--timeout={self.rollout_timeout:.0f}s")
        self.runner.run(rollout, timeout=self.rollout_timeout + 30,
                        what=f"waiting for replica {replica} of {app_id}", fix=fix)
        if self._has_sidecar(name):
            return
        # Created before the injector was ready: recreate the pod (docs/troubleshooting.md,
        # problem 14).
        log.warning("%s has no daprd container; restarting it", name)
        self.runner.run(self.cluster.kubectl("rollout", "restart", f"deployment/{name}",
                                             "--namespace", pins.APP_NAMESPACE), timeout=60)
        self.runner.run(rollout, timeout=self.rollout_timeout + 30,
                        what=f"waiting for replica {replica} of {app_id}", fix=fix)
        if not self._has_sidecar(name):
            raise ClusterError(
                f"the pod of {name} has no daprd sidecar.\n  What to do: check "
                f"`kubectl --context {self.cluster.context} -n {pins.HELM_NAMESPACE} get pods` "
                "(the sidecar injector must be Running) and see docs/troubleshooting.md "
                "(problem 14).")

    def _has_sidecar(self, name: str) -> bool:
        result = self.runner.run(
            self.cluster.kubectl("get", "pods", "--namespace", pins.APP_NAMESPACE,
                                 "--selector", f"app.kubernetes.io/name={name}",
                                 "--output", "json"),
            timeout=60, what=f"reading the pods of {name}")
        pods = json.loads(result.stdout or "{}").get("items", [])
        names = {
            c.get("name")
            for pod in pods
            for c in [*pod["spec"].get("containers", []), *pod["spec"].get("initContainers", [])]
        }
        return "daprd" in names

    def undeploy(self, app_id: str) -> None:
        """Stop the port-forwards of ``app_id``, delete its Deployments, then the components
        this backend applied for it."""
        for port in self._ports.pop(app_id, {}).values():
            self.forwards.remove(port)
        self.runner.run(
            self.cluster.kubectl(
                "delete", "deployments", "--namespace", pins.APP_NAMESPACE, "--ignore-not-found",
                "--selector", app_selector(app_id)),
            timeout=120, what=f"deleting the Deployments of {app_id}")
        if app_id in self._components:
            self._delete_components(app_id)

    def sidecar_ports(self, app_id: str) -> list[int]:
        """Local ports of ``app_id``'s sidecars (after :meth:`deploy`)."""
        return [port for _, port in sorted(self._ports.get(app_id, {}).items())]

    def close(self) -> None:
        """Stop every port-forward (the Deployments stay; :meth:`undeploy` removes them)."""
        self.forwards.stop()
        self._ports.clear()
