"""The local backend: the stand-in's Scheduler (``jobslab up``) and one ``jobslab run`` sidecar
per replica, each under the kernel guard with a pidfile (docs/architecture.md#kernel-hygiene).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from .. import paths, settings
from .. import ports as _ports
from ..processes import pidfiles, spawn
from ._backend import SIDECAR_TIMEOUT, Sidecar, wait_healthy
from ._server import PortInUseError, ServeError

#: Seconds the local Scheduler may take to start.
SCHEDULER_TIMEOUT = 30.0


class LocalBackend:
    """The project's stand-in: a Scheduler (``jobslab up``) and one ``jobslab run`` per replica.

    Sidecars run under :mod:`jobslab.processes.guard` in their own process group: an
    interrupted cell leaves them alone, a dead kernel takes them down, and a pidfile under
    ``<state>/serve/`` lets the next :func:`connect` (or ``jobslab down``) clean up after a
    kernel killed with SIGKILL.
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
        if _ports.accepts(self.scheduler_port):
            self._check_scheduler_is_ours()
        else:
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

    def _check_scheduler_is_ours(self) -> None:
        """Something listens on the Scheduler port: make sure it is the stand-in's Scheduler.
        A real Dapr ``scheduler`` there (say, from ``JOBSLAB_BACKEND=selfhosted``) speaks
        gRPC; the stand-in's sidecars would wait on it until every call timed out."""
        pid = _ports.listener_pid(self.scheduler_port)
        if pid is None:
            return  # another user's process: the sidecar's own error will say more
        with contextlib.suppress(psutil.Error):
            if "jobslab" in " ".join(psutil.Process(pid).cmdline()[1:]):
                return
            raise ServeError(
                f"port {self.scheduler_port} is held by {_ports.describe_pid(pid)}, not by "
                "jobslab's stand-in Scheduler, so the local backend cannot use it. If that is "
                "real Dapr's scheduler (JOBSLAB_BACKEND=selfhosted), stop it with "
                "`JOBSLAB_BACKEND=selfhosted jobslab reset` or `kill "
                f"{pid}`; or give the stand-in another port with JOBSLAB_SCHEDULER_PORT.")

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
        stale = pidfiles.read_pidfile(pidfile)
        if stale and stale.get("owner_pid") == os.getpid() and pidfiles.owner_alive(stale):
            pidfiles.stop_group(stale)  # our own leftover on this port: replace it
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
            process = spawn(cmd, pidfile, stdout=out, app_id=app_id, replica=replica,
                                   app_port=app_port, dapr_http_port=dapr_port,
                                   log=str(log_path))
        return Sidecar(app_id, replica, app_port, dapr_port, process.pid, log_path, process)

    def _wait_healthy(self, sidecar: Sidecar, deadline: float, timeout: float) -> None:
        wait_healthy(sidecar, deadline, timeout)

    def stop_sidecars(self, sidecars: list[Sidecar]) -> None:
        for sidecar in sidecars:  # SIGTERM them all first: they stop in parallel
            if sidecar.pid is not None and sidecar.process is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(sidecar.pid, signal.SIGTERM)
        for sidecar in sidecars:
            if sidecar.pid is not None:
                pidfiles.stop_group({"pid": sidecar.pid}, process=sidecar.process)
            _ports.wait_free(sidecar.dapr_http_port, 5.0)
            pidfiles.remove_pidfile(self.pid_dir / f"sidecar-{sidecar.dapr_http_port}.json",
                                  sidecar.pid)


def cleanup_stale(pid_dir: Path) -> list[int]:
    """Stop sidecars whose kernel is gone (pidfiles in ``pid_dir``); return their ports."""
    return [int(info.get("dapr_http_port", 0))
            for info in pidfiles.cleanup_stale(pid_dir, "sidecar-*.json")]


def _describe_holder(port: int, pid_dir: Path) -> str:
    info = pidfiles.holder(pid_dir / f"sidecar-{port}.json")
    if info and pidfiles.owner_alive(info):
        return (f"the jobslab sidecar of app {info.get('app_id')!r} replica "
                f"{info.get('replica')}, started by another kernel (pid {info.get('owner_pid')}); "
                "stop it there (`handle.stop()`) or use other ports")
    return _ports.holder(port)


