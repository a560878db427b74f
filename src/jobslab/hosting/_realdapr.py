"""The real-Dapr adapters: kind (:class:`KindServeBackend`) and self-hosted
(:class:`SelfHostedServeBackend`) behind the same :class:`~._backend.Backend` interface as
the stand-in. Each imports its package (``jobslab.cluster``, ``jobslab.selfhosted``) only when
constructed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import paths, settings
from ..errors import BackendError
from ._backend import SIDECAR_TIMEOUT, Sidecar, local_only_error, wait_healthy
from ._server import ServeError

if TYPE_CHECKING:
    from ..cluster import KindBackend
    from ..selfhosted import SelfHostedBackend


class _RealDapr:
    """What the kind and self-hosted adapters share.

    ``impl`` deploys whole apps (``deploy(app_id, replicas, app_ports)``) or one replica at a
    time (``deploy_replica``); this class maps the per-sidecar :class:`Backend` calls onto
    those, then waits on each sidecar's ``/v1.0/healthz`` (through the forwarded or local
    port) with the same deadline logic as :class:`LocalBackend`.
    """

    name = ""
    impl: Any

    def __init__(self, impl: Any, state_dir: Path) -> None:
        self.impl = impl
        self.state_dir = state_dir
        self.app_host: str = impl.handler_bind_host
        self.supports_job_list: bool = impl.supports_job_list
        self.supports_scheduler_restart: bool = impl.supports_scheduler_restart
        self._deployed: dict[str, set[int]] = {}  # app id -> replicas with a sidecar

    def _error(self, exc: Exception) -> ServeError:
        return ServeError(f"{self.name} backend: {exc}")

    @contextlib.contextmanager
    def _as_serve_error(self) -> Iterator[None]:
        """Re-raise a :class:`~jobslab.errors.BackendError` as a :class:`ServeError`."""
        try:
            yield
        except BackendError as exc:
            raise self._error(exc) from exc

    def _log_path(self, app_id: str, replica: int, port: int) -> Path | None:
        return None

    def _hint(self, app_id: str, replica: int) -> str:
        return ""

    def start_sidecars(self, app_id: str, ports: list[tuple[int, int]],
                       *, resources_path: str | None = None,
                       timeout: float = SIDECAR_TIMEOUT,
                       first_replica: int = 0) -> list[Sidecar]:
        app_ports = [app for app, _ in ports]
        base = ports[0][1] - first_replica
        if [dapr for _, dapr in ports] != [base + first_replica + i for i in range(len(ports))]:
            raise ServeError(f"the {self.name} backend gives replica i the Dapr HTTP port "
                             f"base + i; got {[dapr for _, dapr in ports]}.")
        self._prepare(resources_path)
        self.impl.base_http_port = base
        deployed = self._deployed.setdefault(app_id, set())
        replicas = list(range(first_replica, first_replica + len(ports)))
        try:
            if first_replica == 0 and not deployed:  # the whole app: one apply, one rollout
                local = self.impl.deploy(app_id, len(ports), app_ports)
            else:
                local = [self.impl.deploy_replica(app_id, replica, app_port)
                         for replica, app_port in zip(replicas, app_ports, strict=True)]
        except BackendError as exc:
            self._undeploy(app_id, replicas)
            raise self._error(exc) from exc
        deployed.update(replicas)
        sidecars = [self._sidecar(app_id, replica, app_port, port)
                    for replica, app_port, port in zip(replicas, app_ports, local, strict=True)]
        deadline = time.monotonic() + timeout
        try:
            for sidecar in sidecars:
                wait_healthy(sidecar, deadline, timeout)
        except BaseException:
            self.stop_sidecars(sidecars)
            raise
        return sidecars

    def _prepare(self, resources_path: str | None) -> None:
        """Components from ``resources_path`` for what is deployed next: self-hosted daprd
        loads them from there; on kind they are applied, scoped to the app, before its
        Deployments."""
        self.impl.resources_path = Path(resources_path) if resources_path else None

    def _sidecar(self, app_id: str, replica: int, app_port: int, port: int) -> Sidecar:
        def probe() -> bool:
            return bool(self.impl.replica_alive(app_id, replica))

        return Sidecar(app_id, replica, app_port, port, log_path=self._log_path(
            app_id, replica, port), probe=probe, hint=self._hint(app_id, replica))

    def stop_sidecars(self, sidecars: list[Sidecar]) -> None:
        by_app: dict[str, list[int]] = {}
        for sidecar in sidecars:
            by_app.setdefault(sidecar.app_id, []).append(sidecar.replica)
        for app_id, replicas in by_app.items():
            self._undeploy(app_id, replicas)

    def _undeploy(self, app_id: str, replicas: list[int]) -> None:
        deployed = self._deployed.setdefault(app_id, set())
        try:
            with self._as_serve_error():
                if deployed <= set(replicas):  # the last ones: remove the whole app
                    self.impl.undeploy(app_id)
                else:
                    for replica in replicas:
                        self.impl.undeploy_replica(app_id, replica)
        finally:
            deployed.difference_update(replicas)
            if not deployed:
                del self._deployed[app_id]

    def restart_scheduler(self) -> None:
        raise local_only_error("scheduler_restart", self.name)


class KindServeBackend(_RealDapr):
    """``JOBSLAB_BACKEND=kind``: real Dapr in the kind cluster ``jobslab cluster up`` made.

    Handlers bind ``0.0.0.0`` (pods reach the host through the bridge gateway, never through
    loopback); replica *i* is the Deployment ``<app-id>-<i>`` whose sidecar dials the host's
    IP (``dapr.io/app-channel-address``) and is port-forwarded to ``127.0.0.1:<port + i>``.
    ``resources_path`` Components (a cron binding) are applied with ``scopes: [<app-id>]``
    before the Deployments and deleted with them. No job list and no Scheduler restart (see
    :data:`FEATURES`). :meth:`ensure` never creates a cluster: it says to run
    ``jobslab cluster up``; it stops port-forwards a killed kernel left (pidfiles).
    """

    name = "kind"
    impl: KindBackend

    def __init__(self, state_dir: str | os.PathLike[str] | None = None,
                 scheduler_port: int | None = None, **options: Any) -> None:
        """``scheduler_port`` is ignored (the Scheduler runs in the cluster)."""
        from ..cluster import KindBackend

        state = paths.state_dir(state_dir)
        super().__init__(KindBackend(state_dir=state, **options), state)

    def ensure(self) -> dict[str, Any]:
        with self._as_serve_error():
            self.impl.ensure()
            release = self.impl.cluster.release()
            host = self.impl.host_address()
        return {"state_dir": str(self.state_dir), "kind cluster": self.impl.cluster.name,
                "kube context": self.impl.cluster.context,
                "Dapr release": (f"{release.chart} ({release.status})" if release
                                 else "not installed"),
                "handlers bind": self.app_host, "app channel address": host}

    def _log_path(self, app_id: str, replica: int, port: int) -> Path | None:
        return self.impl.state_dir / f"port-forward-{port}.log"

    def _hint(self, app_id: str, replica: int) -> str:
        return (f"read the sidecar's log with `kubectl --context {self.impl.cluster.context} "
                f"logs deployment/{app_id}-{replica} -c daprd`; see docs/troubleshooting.md")

    def restart_scheduler(self) -> None:
        raise local_only_error("scheduler_restart", self.name,
                               context=self.impl.cluster.context)

    def close(self) -> None:
        """Stop every port-forward (the Deployments stay)."""
        self.impl.close()


class SelfHostedServeBackend(_RealDapr):
    """``JOBSLAB_BACKEND=selfhosted``: the ``daprd`` and ``scheduler`` of ``dapr init --slim``.

    :meth:`ensure` finds the binaries (``~/.dapr/bin``, then PATH) and starts the scheduler
    on ``127.0.0.1:$JOBSLAB_SCHEDULER_PORT`` (default 50006) unless it runs; replica *i* gets
    its own ``daprd`` on Dapr HTTP port ``port + i``, dialing the handler on 127.0.0.1, under
    a guard that dies with the kernel (:meth:`ensure` stops those a killed kernel left). The
    Scheduler can be restarted; there is no job list (see :data:`FEATURES`).
    """

    name = "selfhosted"
    impl: SelfHostedBackend

    def __init__(self, state_dir: str | os.PathLike[str] | None = None,
                 scheduler_port: int | None = None, **options: Any) -> None:
        from ..selfhosted import SelfHostedBackend

        state = paths.state_dir(state_dir)
        port = int(scheduler_port or settings.scheduler_port())
        super().__init__(SelfHostedBackend(state_dir=state, scheduler_port=port, **options),
                         state)

    def ensure(self) -> dict[str, Any]:
        with self._as_serve_error():
            self.impl.ensure()
            version = self.impl.runner.run([self.impl.binary("daprd"), "--version"],
                                           check=False, timeout=30)
        return {"state_dir": str(self.state_dir), "scheduler": self.impl.scheduler_address,
                "daprd version": version.stdout.strip() or "unknown"}

    def _log_path(self, app_id: str, replica: int, port: int) -> Path | None:
        return self.impl.log_path(app_id, replica)

    def restart_scheduler(self) -> None:
        with self._as_serve_error():
            self.impl.restart_scheduler()
