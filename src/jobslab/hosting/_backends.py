"""Which Dapr answers: the Backend protocol and the local stand-in's implementation.

``JOBSLAB_BACKEND`` chooses (DESIGN.md "Backends"): ``local`` (default) is implemented here on
top of the stand-in's CLI (``python -m jobslab up|run|down``). ``kind`` and ``selfhosted`` plug in
through the same :class:`Backend` protocol; anything only the stand-in can do raises
:class:`LocalOnlyError` elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
import psutil

from .. import paths
from . import _ports
from ._server import PortInUseError, ServeError

log = logging.getLogger(__name__)

ENV_BACKEND = "JOBSLAB_BACKEND"
ENV_SCHEDULER_PORT = "JOBSLAB_SCHEDULER_PORT"
DEFAULT_SCHEDULER_PORT = 50006
#: Seconds a sidecar may take to answer /v1.0/healthz.
SIDECAR_TIMEOUT = 30.0
SCHEDULER_TIMEOUT = 30.0


class LocalOnlyError(ServeError):
    """The operation exists only on the local stand-in (``JOBSLAB_BACKEND=local``)."""


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

    def alive(self) -> bool:
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
        self.scheduler_port = int(scheduler_port or os.environ.get(ENV_SCHEDULER_PORT)
                                  or DEFAULT_SCHEDULER_PORT)
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
        pid = _listener_pid(self.scheduler_port)
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
        stale = _read(pidfile)
        if stale and _owner_alive(stale) and stale.get("owner_pid") == os.getpid():
            _kill_group(stale)  # our own leftover on this port: replace it
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
        guard = [sys.executable, "-m", "jobslab.hosting._guard", "--parent", str(os.getpid()),
                 "--", *cmd]
        with open(log_path, "ab") as out:
            process = subprocess.Popen(guard, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, process_group=0)
        info = {"pid": process.pid, "create_time": _create_time(process.pid),
                "owner_pid": os.getpid(), "owner_create_time": _create_time(os.getpid()),
                "app_id": app_id, "replica": replica, "app_port": app_port,
                "dapr_http_port": dapr_port, "log": str(log_path)}
        pidfile.write_text(json.dumps(info))
        return Sidecar(app_id, replica, app_port, dapr_port, process.pid, log_path, process)

    def _wait_healthy(self, sidecar: Sidecar, deadline: float, timeout: float) -> None:
        while _healthz(sidecar.dapr_http_port) != 204:
            if not sidecar.alive():
                raise ServeError(
                    f"the sidecar for replica {sidecar.replica} of {sidecar.app_id!r} "
                    f"(Dapr HTTP port {sidecar.dapr_http_port}) exited while starting. "
                    f"Its log ({sidecar.log_path}) ends: {_tail(sidecar.log_path) or '(empty)'}")
            if time.monotonic() > deadline:
                raise ServeError(
                    f"the sidecar for replica {sidecar.replica} of {sidecar.app_id!r} did not "
                    f"answer GET http://127.0.0.1:{sidecar.dapr_http_port}/v1.0/healthz within "
                    f"{timeout:g} s. Its log ({sidecar.log_path}) ends: "
                    f"{_tail(sidecar.log_path) or '(empty)'}")
            time.sleep(0.05)

    def stop_sidecars(self, sidecars: list[Sidecar]) -> None:
        for sidecar in sidecars:
            if sidecar.pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(sidecar.pid, signal.SIGTERM)
        for sidecar in sidecars:
            if sidecar.process is not None:
                try:
                    sidecar.process.wait(8)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(sidecar.pid or 0, signal.SIGKILL)
                    sidecar.process.wait(5)
            _wait_port_free(sidecar.dapr_http_port, 5.0)
            pidfile = self.pid_dir / f"sidecar-{sidecar.dapr_http_port}.json"
            info = _read(pidfile)
            if info and info.get("pid") == sidecar.pid:
                pidfile.unlink(missing_ok=True)


# -- pidfiles ------------------------------------------------------------------------------
def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _read(pidfile: Path) -> dict[str, Any] | None:
    try:
        return json.loads(pidfile.read_text())
    except (OSError, ValueError):
        return None


def _same_process(pid: int | None, create_time: float | None) -> bool:
    if not pid:
        return False
    actual = _create_time(pid)
    return actual is not None and (create_time is None or abs(actual - create_time) < 1.0)


def _owner_alive(info: dict[str, Any]) -> bool:
    return _same_process(info.get("owner_pid"), info.get("owner_create_time"))


def _kill_group(info: dict[str, Any]) -> None:
    pid = info.get("pid")
    if not _same_process(pid, info.get("create_time")):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(int(pid), signal.SIGTERM)
    deadline = time.monotonic() + 8
    while _same_process(pid, info.get("create_time")) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if _same_process(pid, info.get("create_time")):
            os.killpg(int(pid), signal.SIGKILL)


def cleanup_stale(pid_dir: Path) -> list[int]:
    """Stop sidecars whose kernel is gone (pidfiles in ``pid_dir``); return their ports."""
    freed = []
    for pidfile in sorted(pid_dir.glob("sidecar-*.json")):
        info = _read(pidfile)
        if info is None:
            pidfile.unlink(missing_ok=True)
            continue
        if _owner_alive(info):
            continue
        _kill_group(info)
        pidfile.unlink(missing_ok=True)
        freed.append(int(info.get("dapr_http_port", 0)))
        log.info("stopped a sidecar left by a finished kernel on port %s",
                 info.get("dapr_http_port"))
    return freed


def _describe_holder(port: int, pid_dir: Path) -> str:
    info = _read(pid_dir / f"sidecar-{port}.json")
    if info and _owner_alive(info) and _same_process(info.get("pid"), info.get("create_time")):
        return (f"the jobslab sidecar of app {info.get('app_id')!r} replica "
                f"{info.get('replica')}, started by another kernel (pid {info.get('owner_pid')}); "
                "stop it there (`handle.stop()`) or use other ports")
    return _ports.holder(port)


def _listener_pid(port: int) -> int | None:
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                return conn.pid
    return None


def _wait_port_free(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _ports.can_bind(port) and time.monotonic() < deadline:
        time.sleep(0.05)


def get_backend(name: str | None = None, **options: Any) -> Backend:
    """The backend named by ``name``, else ``$JOBSLAB_BACKEND``, else ``local``."""
    chosen = (name or os.environ.get(ENV_BACKEND) or "local").strip().lower()
    if chosen == "local":
        return LocalBackend(**options)
    if chosen in ("kind", "selfhosted"):
        raise ServeError(
            f"JOBSLAB_BACKEND={chosen}: hosting handlers from a notebook is not wired to the "
            f"{chosen} backend yet. Use JOBSLAB_BACKEND=local (the default) for the lessons, "
            "or see notebooks on the cluster path.")
    raise ServeError(f"unknown JOBSLAB_BACKEND={chosen!r}; choose local, kind or selfhosted.")
