"""``jobslab.connect`` and ``jobslab.serve``: Dapr job handlers hosted by the notebook kernel."""

from __future__ import annotations

import atexit
import dataclasses
import html
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from .. import DAPR_VERSION, __version__, settings
from .. import ports as _ports
from ..paths import display_path
from . import _server
from ._backend import FEATURES, Backend, Sidecar, get_backend, local_only_error, supports
from ._recording import RecordingMiddleware, TriggerLog, summary
from ._server import BackgroundServer, PortInUseError, ServeError

log = logging.getLogger(__name__)

DEFAULT_DAPR_HTTP_PORT = settings.DAPR_HTTP_PORT
START_TIMEOUT = 30.0
#: Tries to find a restarted replica a free app port (see :class:`Replica`).
APP_PORT_ATTEMPTS = 3

_lock = threading.RLock()
_backend: Backend | None = None
_handles: dict[str, ServeHandle] = {}
_atexit_registered = False


def _default_dapr_port() -> int:
    return settings.dapr_http_port()


@dataclasses.dataclass(frozen=True)
class Connection:
    """What :func:`connect` found or started; shows as a small table in a notebook."""

    backend: str
    dapr_http_port: int
    dapr_version: str
    jobslab_version: str
    state_dir: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The features of :data:`FEATURES` this backend has (see :meth:`supports`).
    features: frozenset[str] = frozenset(FEATURES)

    def supports(self, feature: str) -> bool:
        """True when this backend has ``feature``: ``"job_list"`` (``jobs.list_jobs()``) or
        ``"scheduler_restart"`` (``handle.restart_scheduler()``) — both local-only on kind.

        The one way a notebook skips a local-only cell::

            if jobslab.connect().supports("job_list"):
                jobs.list_jobs()
        """
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}; choose one of {', '.join(FEATURES)}")
        return feature in self.features

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("backend", self.backend), ("Dapr HTTP port", str(self.dapr_http_port)),
                ("Dapr version", self.dapr_version), ("jobslab version", self.jobslab_version),
                ("state dir", self.state_dir)]
        rows += [(k, str(v)) for k, v in self.details.items() if k != "state_dir"]
        missing = [f for f in FEATURES if f not in self.features]
        if missing:
            rows.append(("local-only (skipped)", ", ".join(missing)))
        return rows

    def __repr__(self) -> str:
        return "\n".join(f"{k:16} {v}" for k, v in self._rows())

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                        for k, v in self._rows())
        return f"<table>{cells}</table>"


def connect(backend: str | None = None, *, state_dir: str | os.PathLike[str] | None = None,
            scheduler_port: int | None = None, **options: Any) -> Connection:
    """Make sure Dapr is there and say where: backend, Dapr HTTP port, versions, state dir.

    ``backend`` defaults to ``$JOBSLAB_BACKEND``, else ``local``:

    - ``local``: the stand-in's Scheduler is started if it is not running
      (``$JOBSLAB_SCHEDULER_PORT``, default 50006), and sidecars left behind by a kernel that
      was killed are stopped.
    - ``kind``: checks the cluster of ``jobslab cluster up`` and its Dapr release (never
      creates one) and reports the kube context, the release and the host address pods dial.
    - ``selfhosted``: finds ``daprd``/``scheduler`` (``~/.dapr/bin``, then PATH) and starts the
      scheduler on 127.0.0.1 unless it runs.

    Other ``options`` go to the backend (e.g. ``cluster_name=`` on kind, ``bin_dir=`` or
    ``scheduler_healthz_port=`` self-hosted). ``.supports("job_list")`` tells whether a
    local-only feature is there. Idempotent; call it in the first cell.

    Example::

        import jobslab
        jobslab.connect()
        # backend          local
        # Dapr HTTP port   3500
        # ...
    """
    global _backend
    with _lock:
        _install_atexit()
        if state_dir is not None:
            options["state_dir"] = state_dir
        if scheduler_port is not None:
            options["scheduler_port"] = scheduler_port
        chosen = get_backend(backend, **options)
        facts = chosen.ensure()
        _backend = chosen
        settings.set_connected_backend(chosen.name)
        return Connection(
            backend=chosen.name, dapr_http_port=_default_dapr_port(), dapr_version=DAPR_VERSION,
            jobslab_version=__version__, state_dir=display_path(facts.get("state_dir", ".")),
            details={k: v for k, v in facts.items() if k != "state_dir"},
            features=frozenset(f for f in FEATURES if supports(chosen, f)))


def _current_backend() -> Backend:
    if _backend is None:
        connect()
    assert _backend is not None
    return _backend


class Replica:
    """One replica: an app server in a kernel thread and (local backend) its sidecar.

    ``stop()`` takes both down (a crashed pod); ``start()`` brings them back on the same
    ports — except an app port the OS picked (``serve(app_port=None)``) that another process
    took while the replica was down: the OS hands such ports out again, so the replica then
    gets a new one and its sidecar is told. Example::

        handle.replicas[1].stop()
        handle.replicas[1].start()
    """

    def __init__(self, handle: ServeHandle, index: int, app_port: int,
                 dapr_http_port: int, *, app_port_picked: bool = False) -> None:
        self._handle = handle
        self.index = index
        self.app_port = app_port
        self._app_port_picked = app_port_picked  # by the OS, not by the learner
        self.dapr_http_port = dapr_http_port
        self.server: BackgroundServer | None = None
        self.sidecar: Sidecar | None = None

    @property
    def running(self) -> bool:
        """True when the app server runs and its sidecar process is alive."""
        return bool(self.server and self.server.running and self.sidecar
                    and self.sidecar.alive())

    def _start_server(self, timeout: float) -> None:
        h = self._handle
        wrapped = RecordingMiddleware(h.app, h._log, self.index, h.bindings)
        self.server = BackgroundServer(wrapped, host=h.backend.app_host, port=self.app_port,
                                       name=f"{h.app_id}-{self.index}")
        self.server.start(timeout=min(timeout, 15.0))

    def _start_server_again(self, timeout: float) -> None:
        """The app server on its port; on a new free one when the OS gave its old port (one
        it had picked) to another process meanwhile."""
        h = self._handle
        for attempt in range(APP_PORT_ATTEMPTS):
            if self._app_port_picked and not _ports.can_bind(self.app_port, h.backend.app_host):
                taken = {p for r in h.replicas for p in (r.app_port, r.dapr_http_port)}
                self.app_port = _ports.free_ports(1, h.backend.app_host, exclude=taken)[0]
            try:
                self._start_server(timeout)
                return
            except PortInUseError:
                if not self._app_port_picked or attempt + 1 == APP_PORT_ATTEMPTS:
                    raise

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start this replica's app server and sidecar again; waits until both are ready."""
        if self.running:
            return
        self.stop()
        self._start_server_again(timeout)
        try:
            h = self._handle
            [self.sidecar] = h.backend.start_sidecars(
                h.app_id, [(self.app_port, self.dapr_http_port)],
                resources_path=h.resources_path, timeout=timeout, first_replica=self.index)
        except BaseException:
            self.server.stop()
            raise

    def stop(self) -> None:
        """Stop the sidecar, then the app server; both ports are free afterwards."""
        if self.sidecar is not None:
            self._handle.backend.stop_sidecars([self.sidecar])
            self.sidecar = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"Replica({self.index}, app port {self.app_port}, "
                f"Dapr HTTP port {self.dapr_http_port}, {state})")


class ServeHandle:
    """What :func:`serve` returns: the replicas, the recorded triggers, and controls.

    Example::

        handle = jobslab.serve(app, app_id="orders", replicas=3)
        handle.wait_for(6, job="tick", timeout=30)
        handle.triggers.groupby("replica").size()
        handle.replicas[0].stop()
        handle.stop()
    """

    def __init__(self, app: Any, app_id: str, backend: Backend, bindings: Iterable[str],
                 resources_path: str | None) -> None:
        self.app = app
        self.app_id = app_id
        self.backend = backend
        self.bindings = tuple(bindings)
        self.resources_path = resources_path
        self.replicas: list[Replica] = []
        self._log = TriggerLog()

    @property
    def dapr_http_port(self) -> int:
        """The Dapr HTTP port of replica 0 (where lessons schedule jobs)."""
        return self.replicas[0].dapr_http_port

    @property
    def app_host(self) -> str:
        """The address the app servers bind: ``127.0.0.1``, or ``0.0.0.0`` on kind."""
        return self.backend.app_host

    @property
    def supports_scheduler_restart(self) -> bool:
        """False where :meth:`restart_scheduler` is local-only (kind); skip such cells::

            if handle.supports_scheduler_restart:
                handle.restart_scheduler()
        """
        return supports(self.backend, "scheduler_restart")

    @property
    def triggers(self) -> pd.DataFrame:
        """Every recorded request so far, one row each: received (UTC), replica, route, job,
        status, body, error."""
        return self._log.frame()

    def wait_for(self, n: int, job: str | None = None, timeout: float = 30.0) -> pd.DataFrame:
        """Return as soon as ``n`` triggers (of ``job``, if given) have arrived, as a DataFrame
        (a cron binding's ``OPTIONS`` probe is not a trigger: it is in :attr:`triggers`, not
        here).

        Raises ``TimeoutError`` saying what did arrive when ``timeout`` seconds pass first.

        Example::

            handle.wait_for(6, job="tick", timeout=20)
        """
        self._log.wait_for(n, job=job, timeout=timeout)
        return self._log.frame(job, probes=False)

    def clear(self) -> None:
        """Forget the recorded triggers (the servers keep running)."""
        self._log.clear()

    def restart_scheduler(self) -> None:
        """Stop and start the Scheduler — local and self-hosted; on kind it raises
        :class:`LocalOnlyError` (check :attr:`supports_scheduler_restart` first).

        Jobs survive (they are stored); ticks missed while it was down are caught up.
        Returns once every running replica's sidecar is connected to the new Scheduler, so
        the next ``jobs.get(...)`` does not meet a sidecar still reconnecting.
        """
        if not self.supports_scheduler_restart:
            raise local_only_error("scheduler_restart", self.backend.name)
        self.backend.restart_scheduler()
        self._wait_sidecars_connected(timeout=START_TIMEOUT)

    def _wait_sidecars_connected(self, timeout: float) -> None:
        """Poll each running sidecar's ``/v1.0/metadata`` until it lists a connected
        Scheduler (``scheduler.connectedAddresses``; real daprd may spell it
        ``connected_addresses``). A sidecar whose metadata has no such field is not waited on.
        """
        deadline = time.monotonic() + timeout
        for replica in self.replicas:
            if not replica.running:
                continue
            url = f"http://127.0.0.1:{replica.dapr_http_port}/v1.0/metadata"
            while True:
                try:
                    sched = httpx.get(url, timeout=2.0).json().get("scheduler")
                except (httpx.HTTPError, ValueError):
                    sched = {}
                if sched is None or (isinstance(sched, dict) and (
                        sched.get("connectedAddresses") or sched.get("connected_addresses"))):
                    break
                if time.monotonic() > deadline:
                    raise ServeError(
                        f"the Scheduler restarted, but the sidecar on port "
                        f"{replica.dapr_http_port} did not reconnect within {timeout:g} s; "
                        "its log is in the state dir (`jobslab status` shows where).")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop every replica (sidecars, then app servers). Safe to call twice."""
        sidecars = [r.sidecar for r in self.replicas if r.sidecar is not None]
        try:
            self.backend.stop_sidecars(sidecars)  # all at once: they stop in parallel
        finally:
            for replica in self.replicas:
                replica.sidecar = None
                replica.stop()
        with _lock:
            if _handles.get(self.app_id) is self:
                del _handles[self.app_id]

    def _summary(self) -> str:
        return summary(self._log.snapshot())

    def __repr__(self) -> str:
        bound = f", app servers on {self.app_host}" if self.app_host != "127.0.0.1" else ""
        lines = [f"jobslab.serve: app {self.app_id!r} on the {self.backend.name} backend, "
                 f"{len(self.replicas)} replica(s){bound}"]
        lines += [f"  {r!r}" for r in self.replicas]
        lines.append(f"  triggers: {self._summary()}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{r.index}</td><td>{r.app_port}</td><td>{r.dapr_http_port}</td>"
            f"<td>{'running' if r.running else 'stopped'}</td></tr>" for r in self.replicas)
        return (f"<p><b>{html.escape(self.app_id)}</b> on the {html.escape(self.backend.name)} "
                f"backend</p><table><tr><th>replica</th><th>app port</th>"
                f"<th>Dapr HTTP port</th><th>state</th></tr>{rows}</table>"
                f"<p>triggers: {html.escape(self._summary())}</p>")


def _binding_routes(resources_path: str | None) -> list[str]:
    """Routes of the input bindings declared in ``resources_path`` (name, or metadata route)."""
    if not resources_path:
        return []
    import yaml

    routes = []
    for path in sorted(Path(resources_path).glob("*.y*ml")):
        try:
            docs = list(yaml.safe_load_all(path.read_text("utf-8")))
        except (OSError, yaml.YAMLError):
            continue
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "Component":
                continue
            spec = doc.get("spec") or {}
            if not str(spec.get("type", "")).startswith("bindings."):
                continue
            route = (doc.get("metadata") or {}).get("name", "")
            for item in spec.get("metadata") or []:
                if isinstance(item, dict) and item.get("name") == "route":
                    route = str(item.get("value", route))
            if route:
                routes.append(route)
    return routes


def serve(app: Any, app_id: str = "jobs-lab", replicas: int = 1, app_port: int | None = None,
          dapr_http_port: int | None = None, *, bindings: Iterable[str] = (),
          resources_path: str | os.PathLike[str] | None = None,
          timeout: float = START_TIMEOUT) -> ServeHandle:
    """Serve ``app`` as ``replicas`` replicas of ``app_id``, each with its own sidecar.

    Replica *i* is a uvicorn server in a daemon thread of this kernel on app port
    ``app_port + i`` (``app_port=None``: free ports the OS picks) and a sidecar whose Dapr HTTP
    API is on ``127.0.0.1:<dapr_http_port + i>`` (default ``$DAPR_HTTP_PORT``, else 3500): a
    stand-in (local), a ``daprd`` (selfhosted), or the port-forwarded sidecar of the
    Deployment ``<app_id>-<i>`` (kind; servers then bind ``0.0.0.0``). Servers start first,
    sidecars after — a sidecar waits for its app port.
    Returns once every server and sidecar is ready, or raises :class:`ServeError` naming the
    port (:class:`PortInUseError` names the process holding it) — it never hangs past
    ``timeout``. Running the cell again replaces the servers it started before (same
    ``app_id`` or same ports); they also stop at interpreter exit.

    Requests on ``/job/<name>`` and on binding routes (``bindings=`` and the input bindings in
    ``resources_path``) are recorded, never printed: see ``handle.triggers`` and
    ``handle.wait_for``.

    Example::

        app = FastAPI()

        @app.post("/job/{name}")
        async def on_job(name: str, request: Request):
            return {"ok": True}

        handle = jobslab.serve(app, app_id="orders", replicas=3)
        jobs.schedule("tick", "@every 1s", repeats=6, port=handle.dapr_http_port)
        handle.wait_for(6, job="tick")
    """
    if replicas < 1:
        raise ValueError("replicas must be 1 or more")
    base_dapr = _default_dapr_port() if dapr_http_port is None else int(dapr_http_port)
    backend = _current_backend()
    dapr_ports = [base_dapr + i for i in range(replicas)]
    with _lock:
        _install_atexit()
        for old in list(_handles.values()):
            old_ports = {p for r in old.replicas for p in (r.app_port, r.dapr_http_port)}
            if old.app_id == app_id or old_ports & set(dapr_ports):
                log.info("replacing the servers of %r", old.app_id)
                old.stop()
        if app_port is None:
            app_ports = _ports.free_ports(replicas, backend.app_host, exclude=dapr_ports)
        else:
            app_ports = [int(app_port) + i for i in range(replicas)]
        rpath = os.fspath(resources_path) if resources_path is not None else None
        handle = ServeHandle(app, app_id, backend, [*bindings, *_binding_routes(rpath)], rpath)
        handle.replicas = [Replica(handle, i, app_ports[i], dapr_ports[i],
                                   app_port_picked=app_port is None)
                           for i in range(replicas)]
        try:
            for replica in handle.replicas:
                replica._start_server(timeout)
            sidecars = backend.start_sidecars(app_id, list(zip(app_ports, dapr_ports,
                                                               strict=True)),
                                              resources_path=rpath, timeout=timeout)
            for replica, sidecar in zip(handle.replicas, sidecars, strict=True):
                replica.sidecar = sidecar
        except BaseException:
            handle.stop()
            raise
        _handles[app_id] = handle
        return handle


def stop_all() -> None:
    """Stop every handle and server this kernel started (runs at interpreter exit too)."""
    with _lock:
        handles = list(_handles.values())
    for handle in handles:
        try:
            handle.stop()
        except Exception:  # at exit, keep stopping the rest
            log.exception("stopping %r failed", handle.app_id)
    _server.stop_all()


def _install_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(stop_all)
        _atexit_registered = True


__all__ = ["Connection", "Replica", "ServeError", "ServeHandle", "connect", "serve", "stop_all"]
