"""Which Dapr answers: the Backend protocol and its three implementations.

``JOBSLAB_BACKEND`` chooses (docs/architecture.md#backends):

- ``local`` (default) — :class:`LocalBackend`, on top of the stand-in's CLI
  (``python -m jobslab up|run|down``).
- ``kind`` — :class:`KindServeBackend`, an adapter onto :class:`jobslab.cluster.KindBackend`:
  handlers bind ``0.0.0.0``, one Deployment per replica, its sidecar port-forwarded.
- ``selfhosted`` — :class:`SelfHostedServeBackend`, an adapter onto
  :class:`jobslab.selfhosted.SelfHostedBackend`: real ``scheduler`` and one ``daprd`` per
  replica from ``dapr init --slim``.

What only the stand-in can do (``FEATURES``) raises :class:`LocalOnlyError` elsewhere, with
the command that does it on real Dapr; :func:`supports` lets a notebook skip such cells.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx
import psutil

from .. import paths, settings
from .. import ports as _ports
from . import _guard
from ._server import PortInUseError, ServeError

if TYPE_CHECKING:
    from ..cluster import KindBackend
    from ..selfhosted import SelfHostedBackend

log = logging.getLogger(__name__)

ENV_BACKEND = settings.ENV_BACKEND
ENV_SCHEDULER_PORT = settings.ENV_SCHEDULER_PORT
DEFAULT_SCHEDULER_PORT = settings.SCHEDULER_PORT
#: Seconds a sidecar may take to answer /v1.0/healthz.
SIDECAR_TIMEOUT = 30.0
SCHEDULER_TIMEOUT = 30.0


class LocalOnlyError(ServeError):
    """The operation exists only on the local stand-in (``JOBSLAB_BACKEND=local``).

    The message says what to use instead on the backend in use, and how a notebook skips
    the cell (``if jobslab.connect().supports("job_list"):``).
    """


#: Features some backends lack, and the Backend attribute that says whether one has it.
FEATURES = {"job_list": "supports_job_list", "scheduler_restart": "supports_scheduler_restart"}

_INSTEAD = {
    ("job_list", "kind"):
        "On kind use `jobslab scheduler list -k` (it hands over to `dapr scheduler list -k`, "
        "Dapr CLI 1.16.3 or newer) in a terminal, or `jobs.get(name)` for a job whose name "
        "you know.",
    ("job_list", "selfhosted"):
        "Self-hosted, use `jobslab scheduler list` (it hands over to `dapr scheduler list`, "
        "Dapr CLI 1.16.3 or newer) in a terminal, or `jobs.get(name)` for a job whose name "
        "you know.",
    ("scheduler_restart", "kind"):
        "On kind the Scheduler is the StatefulSet dapr-scheduler-server in dapr-system; "
        "restart it from a terminal: `kubectl --context {context} -n dapr-system rollout "
        "restart statefulset/dapr-scheduler-server`.",
}
_WHAT = {
    "job_list": ("`jobs.list_jobs()` is local-only: Dapr's HTTP API has no list of jobs "
                 "(only GET, POST and DELETE by name)."),
    "scheduler_restart": "`handle.restart_scheduler()` is local-only here.",
}


def supports(backend: Backend, feature: str) -> bool:
    """True when ``backend`` has ``feature`` (a key of :data:`FEATURES`)."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; choose one of {', '.join(FEATURES)}")
    return bool(getattr(backend, FEATURES[feature], False))


def local_only_error(feature: str, backend: str, *, context: str = "kind-dapr-jobs"
                     ) -> LocalOnlyError:
    """The :class:`LocalOnlyError` for ``feature`` on the backend named ``backend``."""
    instead = _INSTEAD.get((feature, backend), "").format(context=context)
    skip = ("jobslab.connect().supports(\"job_list\")" if feature == "job_list"
            else "handle.supports_scheduler_restart")
    return LocalOnlyError(
        f"{_WHAT[feature]} This is the {backend} backend (JOBSLAB_BACKEND={backend}). "
        f"{instead + ' ' if instead else ''}In a notebook, skip the cell with `if {skip}:`.")


@dataclasses.dataclass
class Sidecar:
    """A sidecar serving one replica: its Dapr HTTP port and (local) its guard process."""

    app_id: str
    replica: int
    app_port: int
    dapr_http_port: int
    pid: int | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = dataclasses.field(default=None, repr=False)
    #: kind/selfhosted: asks the backend whether this replica's sidecar still runs.
    probe: Callable[[], bool] | None = dataclasses.field(default=None, repr=False)
    #: What to read when it does not start (beyond ``log_path``).
    hint: str = dataclasses.field(default="", repr=False)

    def alive(self) -> bool:
        if self.probe is not None:
            return self.probe()
        if self.process is not None:
            return self.process.poll() is None
        return self.pid is not None and psutil.pid_exists(self.pid)


@runtime_checkable
class Backend(Protocol):
    """What :func:`jobslab.serve` needs from a place Dapr runs."""

    name: str
    #: Address the app servers bind: 127.0.0.1 locally, 0.0.0.0 when containers call in.
    app_host: str
    supports_job_list: bool
    supports_scheduler_restart: bool

    def ensure(self) -> dict[str, Any]:
        """Make Dapr available (start what is missing); return facts for the notebook."""

    def start_sidecars(self, app_id: str, ports: list[tuple[int, int]],
                       *, resources_path: str | None = None,
                       timeout: float = SIDECAR_TIMEOUT,
                       first_replica: int = 0) -> list[Sidecar]:
        """One sidecar per ``(app_port, dapr_http_port)``; return when all are healthy."""

    def stop_sidecars(self, sidecars: list[Sidecar]) -> None:
        """Stop the given sidecars; their ports are free when this returns."""

    def restart_scheduler(self) -> None:
        """Stop and start the Scheduler (lessons on downtime and catch-up)."""


def _healthz(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1.0/healthz", timeout=1.0).status_code
    except httpx.HTTPError:
        return 0


def _tail(path: Path | None, lines: int = 8) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text("utf-8", "replace").strip().splitlines()
    return " | ".join(text[-lines:])


def _wait_healthy(sidecar: Sidecar, deadline: float, timeout: float) -> None:
    """Poll the sidecar's ``/v1.0/healthz`` until 204; raise once it died or ``deadline``."""
    while _healthz(sidecar.dapr_http_port) != 204:
        said = (f"Its log ({sidecar.log_path}) ends: {_tail(sidecar.log_path) or '(empty)'}"
                f"{'; ' + sidecar.hint if sidecar.hint else ''}")
        if not sidecar.alive():
            raise ServeError(
                f"the sidecar for replica {sidecar.replica} of {sidecar.app_id!r} "
                f"(Dapr HTTP port {sidecar.dapr_http_port}) exited while starting. {said}")
        if time.monotonic() > deadline:
            raise ServeError(
                f"the sidecar for replica {sidecar.replica} of {sidecar.app_id!r} did not "
                f"answer GET http://127.0.0.1:{sidecar.dapr_http_port}/v1.0/healthz within "
                f"{timeout:g} s. {said}")
        time.sleep(0.05)


class LocalBackend:
    """The project's stand-in: a Scheduler (``jobslab up``) and one ``jobslab run`` per replica.

    Sidecars run under :mod:`._guard` in their own process group: an interrupted cell leaves
    them alone, a dead kernel takes them down, and a pidfile under ``<state>/serve/`` lets the
    next :func:`connect` (or ``jobslab down``) clean up after a kernel killed with SIGKILL.
    """

    name = "local"
    app_host = "127.0.0.1"
    supports_job_list = True
    supports_scheduler_restart = True

    def __init__(self, state_dir: str | os.PathLike[str] | None = None,
                 scheduler_port: int | None = None) -> None:
        self.state_dir = paths.state_dir(state_dir)
        self.scheduler_port = int(scheduler_port or settings.scheduler_port())
        self.pid_dir = self.state_dir / "serve"
        self.log_dir = self.state_dir / "logs"

    # -- the scheduler -------------------------------------------------------------------
    def _cli(self, *args: str,
             timeout: float = SCHEDULER_TIMEOUT) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "jobslab", *args]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ServeError(f"`jobslab {' '.join(args)}` did not finish within {timeout:g} s. "
                             "Run it in a terminal to see why.") from exc

    def ensure(self) -> dict[str, Any]:
        cleanup_stale(self.pid_dir)
        if not _ports.accepts(self.scheduler_port):
            done = self._cli("up", "--state-dir", str(self.state_dir),
                             "--scheduler-port", str(self.scheduler_port))
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip()
                raise ServeError(
                    f"could not start the local Scheduler on port {self.scheduler_port}: {said}. "
                    "`jobslab status` shows what runs; `jobslab doctor` what to fix.")
            deadline = time.monotonic() + SCHEDULER_TIMEOUT
            while not _ports.accepts(self.scheduler_port):
                if time.monotonic() > deadline:
                    raise ServeError(
                        f"the local Scheduler did not listen on port {self.scheduler_port} "
                        f"within {SCHEDULER_TIMEOUT:g} s; see its log under "
                        f"{self.log_dir}.")
                time.sleep(0.1)
        return {"scheduler": f"127.0.0.1:{self.scheduler_port}", "state_dir": str(self.state_dir)}

    def restart_scheduler(self, timeout: float = SCHEDULER_TIMEOUT) -> None:
        pid = _ports.listener_pid(self.scheduler_port)
        if pid is None:
            raise ServeError(f"no Scheduler listens on port {self.scheduler_port}; "
                             "`jobslab.connect()` starts one.")
        proc = psutil.Process(pid)
        cmd = " ".join(proc.cmdline())
        if "jobslab" not in cmd:
            raise ServeError(f"port {self.scheduler_port} is held by "
                             f"{_ports.describe_pid(pid)}, not by jobslab's Scheduler; "
                             "not restarting it.")
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except psutil.TimeoutExpired:
            proc.kill()
        self.ensure()

    # -- sidecars --------------------------------------------------------------------------
    def start_sidecars(self, app_id: str, ports: list[tuple[int, int]],
                       *, resources_path: str | None = None,
                       timeout: float = SIDECAR_TIMEOUT,
                       first_replica: int = 0) -> list[Sidecar]:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started: list[Sidecar] = []
        try:
            for offset, (app_port, dapr_port) in enumerate(ports):
                started.append(self._spawn(app_id, first_replica + offset, app_port, dapr_port,
                                           resources_path))
            deadline = time.monotonic() + timeout
            for sidecar in started:
                self._wait_healthy(sidecar, deadline, timeout)
        except BaseException:
            self.stop_sidecars(started)
            raise
        return started

    def _spawn(self, app_id: str, replica: int, app_port: int, dapr_port: int,
               resources_path: str | None) -> Sidecar:
        pidfile = self.pid_dir / f"sidecar-{dapr_port}.json"
        stale = _guard.read_pidfile(pidfile)
        if stale and stale.get("owner_pid") == os.getpid() and _guard.owner_alive(stale):
            _guard.stop_group(stale)  # our own leftover on this port: replace it
        if not _ports.can_bind(dapr_port):
            raise PortInUseError(
                dapr_port, f"sidecar for replica {replica} of {app_id!r}",
                _describe_holder(dapr_port, self.pid_dir),
                "Pass another dapr_http_port= (replica i uses dapr_http_port + i), or stop "
                "that process (`jobslab status` / `jobslab down`).")
        log_path = self.log_dir / f"sidecar-{app_id}-{replica}-{dapr_port}.log"
        cmd = [sys.executable, "-m", "jobslab", "run", "--app-id", app_id,
               "--app-port", str(app_port), "--dapr-http-port", str(dapr_port),
               "--scheduler-host-address", f"127.0.0.1:{self.scheduler_port}",
               "--state-dir", str(self.state_dir)]
        if resources_path:
            cmd += ["--resources-path", str(resources_path)]
        with open(log_path, "ab") as out:
            process = _guard.spawn(cmd, pidfile, stdout=out, app_id=app_id, replica=replica,
                                   app_port=app_port, dapr_http_port=dapr_port,
                                   log=str(log_path))
        return Sidecar(app_id, replica, app_port, dapr_port, process.pid, log_path, process)

    def _wait_healthy(self, sidecar: Sidecar, deadline: float, timeout: float) -> None:
        _wait_healthy(sidecar, deadline, timeout)

    def stop_sidecars(self, sidecars: list[Sidecar]) -> None:
        for sidecar in sidecars:  # SIGTERM them all first: they stop in parallel
            if sidecar.pid is not None and sidecar.process is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(sidecar.pid, signal.SIGTERM)
        for sidecar in sidecars:
            if sidecar.pid is not None:
                _guard.stop_group({"pid": sidecar.pid}, process=sidecar.process)
            _ports.wait_free(sidecar.dapr_http_port, 5.0)
            _guard.remove_pidfile(self.pid_dir / f"sidecar-{sidecar.dapr_http_port}.json",
                                  sidecar.pid)


def cleanup_stale(pid_dir: Path) -> list[int]:
    """Stop sidecars whose kernel is gone (pidfiles in ``pid_dir``); return their ports."""
    return [int(info.get("dapr_http_port", 0))
            for info in _guard.cleanup_stale(pid_dir, "sidecar-*.json")]


def _describe_holder(port: int, pid_dir: Path) -> str:
    info = _guard.holder(pid_dir / f"sidecar-{port}.json")
    if info and _guard.owner_alive(info):
        return (f"the jobslab sidecar of app {info.get('app_id')!r} replica "
                f"{info.get('replica')}, started by another kernel (pid {info.get('owner_pid')}); "
                "stop it there (`handle.stop()`) or use other ports")
    return _ports.holder(port)


# -- real Dapr: kind and self-hosted ----------------------------------------------------------
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
        """Re-raise the cluster code's :class:`ClusterError` as a :class:`ServeError`."""
        from ..cluster import ClusterError

        try:
            yield
        except ClusterError as exc:
            raise self._error(exc) from exc

    def _log_path(self, app_id: str, replica: int, port: int) -> Path | None:
        return None

    def _hint(self, app_id: str, replica: int) -> str:
        return ""

    def start_sidecars(self, app_id: str, ports: list[tuple[int, int]],
                       *, resources_path: str | None = None,
                       timeout: float = SIDECAR_TIMEOUT,
                       first_replica: int = 0) -> list[Sidecar]:
        from ..cluster import ClusterError

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
        except ClusterError as exc:
            self._undeploy(app_id, replicas)
            raise self._error(exc) from exc
        deployed.update(replicas)
        sidecars = [self._sidecar(app_id, replica, app_port, port)
                    for replica, app_port, port in zip(replicas, app_ports, local, strict=True)]
        deadline = time.monotonic() + timeout
        try:
            for sidecar in sidecars:
                _wait_healthy(sidecar, deadline, timeout)
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


def get_backend(name: str | None = None, **options: Any) -> Backend:
    """The backend named by ``name``, else ``$JOBSLAB_BACKEND``, else ``local``.

    ``options`` go to the backend's constructor: ``state_dir``, ``scheduler_port`` for all;
    e.g. ``cluster_name`` (kind) or ``bin_dir`` (selfhosted).
    """
    chosen = (name or os.environ.get(ENV_BACKEND) or "local").strip().lower()
    if chosen == "local":
        return LocalBackend(**options)
    if chosen == "kind":
        return KindServeBackend(**options)
    if chosen == "selfhosted":
        return SelfHostedServeBackend(**options)
    raise ServeError(f"unknown JOBSLAB_BACKEND={chosen!r}; choose local, kind or selfhosted.")
