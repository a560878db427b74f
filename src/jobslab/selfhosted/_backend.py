"""``SelfHostedBackend``: what ``jobslab.serve`` uses when ``JOBSLAB_BACKEND=selfhosted``.

``dapr init --slim --runtime-version 1.18.3`` downloads ``daprd``, ``placement`` and
``scheduler`` into ``~/.dapr/bin`` but starts nothing. This backend starts the scheduler
itself — loopback only, its etcd data in the state dir — and one ``daprd`` per handler
replica, all with pidfiles and logs in ``<state dir>/selfhosted/``.

A state dir is a separate installation: besides its gRPC port (``50006`` unless told
otherwise), the scheduler needs a health port, a metrics port and two ports for its embedded
etcd (client and peer; etcd's defaults 2379/2380 would collide between installations, and with
a Docker-based ``dapr init`` that publishes 2379). Each installation picks free ones the first
time and records them in ``<state dir>/selfhosted/ports.json``, so a grader, the real-Dapr test
tier and a learner's open lab can run side by side.

The scheduler outlives the kernel (like ``jobslab up``'s). Each ``daprd`` runs under
:mod:`jobslab.processes.guard`, as the local stand-in's sidecars do: "Interrupt kernel" leaves
it running, the end of the kernel stops it, and :meth:`SelfHostedBackend.ensure` (so the next
``jobslab.connect()``) stops any whose kernel is gone, from their pidfiles.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import paths, pins, settings
from .. import ports as _ports
from ..errors import SelfHostedError
from ..processes import pidfiles
from ..processes.runner import Runner, tail

log = logging.getLogger(__name__)

INIT_HINT = (f"install the binaries with `dapr init --slim --runtime-version "
             f"{pins.DAPR_RUNTIME_VERSION}` (Dapr CLI {pins.DAPR_CLI_VERSION}: "
             "https://docs.dapr.io/getting-started/install-dapr-cli/)")

#: Environment variable naming a folder that holds ``daprd`` and ``scheduler``; it is searched
#: before ``~/.dapr/bin`` and ``PATH``.
ENV_BIN_DIR = "JOBSLAB_DAPR_BIN"

#: The scheduler's ports besides its gRPC port, recorded per installation in ``ports.json``.
AUX_PORTS = ("healthz", "metrics", "etcd_client", "etcd_peer")


def bin_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where real Dapr binaries are looked for, before ``PATH``: ``$JOBSLAB_DAPR_BIN`` (when
    set), then ``~/.dapr/bin`` (where ``dapr init --slim`` puts them)."""
    env = os.environ if environ is None else environ
    dirs = [Path(env[ENV_BIN_DIR]).expanduser()] if env.get(ENV_BIN_DIR) else []
    home = env.get("HOME") or str(Path.home())
    return [*dirs, Path(home) / ".dapr" / "bin"]


def find_binary(name: str, environ: Mapping[str, str] | None = None,
                dirs: Sequence[Path] | None = None) -> str | None:
    """Path of the real ``daprd`` or ``scheduler`` the way a user's is found (see
    :func:`bin_dirs`, then ``PATH``), or ``None``."""
    for directory in (bin_dirs(environ) if dirs is None else dirs):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    env = os.environ if environ is None else environ
    return shutil.which(name, path=env.get("PATH"))


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as resp:  # loopback only
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


class SelfHostedBackend:
    """Real Dapr 1.18.3 on this machine, without Docker or Kubernetes.

    Same interface as :class:`jobslab.cluster.KindBackend`:

    - ``name`` — ``"selfhosted"``; ``handler_bind_host`` — ``127.0.0.1`` (daprd dials the
      handler on loopback: ``--app-channel-address 127.0.0.1``).
    - ``supports_job_list`` — False (Dapr has no HTTP list of jobs);
      ``supports_scheduler_restart`` — True (:meth:`restart_scheduler`).
    - :meth:`ensure` — find the binaries (``~/.dapr/bin``, then PATH) and start the scheduler
      unless it already runs; idempotent.
    - :meth:`deploy` ``(app_id, replicas, app_ports) -> [daprd HTTP ports]`` — replica ``i``
      gets ``base_http_port + i``; start the handlers first (daprd waits for the app port).
    - :meth:`undeploy` ``(app_id)``; :meth:`close` stops every daprd this backend started;
      :meth:`stop` also stops the scheduler (its data dir, and so the jobs, survive).
    - :meth:`deploy_replica` / :meth:`undeploy_replica` / :meth:`replica_alive` — one replica
      at a time (``jobslab.serve``'s ``handle.replicas[i].stop()`` and ``.start()``).
    - ``resources_path`` — when set, daprd loads components from there instead of the empty
      ``<state dir>/selfhosted/components``.
    - :meth:`cleanup_stale` — stop the ``daprd``s whose kernel is gone (run by :meth:`ensure`).
    """

    name = "selfhosted"
    handler_bind_host = "127.0.0.1"
    supports_job_list = False
    supports_scheduler_restart = True

    def __init__(
        self,
        *,
        state_dir: str | Path | None = None,
        bin_dir: str | Path | None = None,
        runner: Runner | None = None,
        base_http_port: int = settings.DAPR_HTTP_PORT,
        scheduler_port: int = settings.SCHEDULER_PORT,
        scheduler_healthz_port: int | None = None,
        scheduler_metrics_port: int | None = None,
        ready_timeout: float = 30.0,
        log_level: str = "info",
    ) -> None:
        self.runner = runner or Runner()
        self._state_dir = Path(state_dir) if state_dir else None
        self._bin_dir = Path(bin_dir) if bin_dir else None
        self.base_http_port = base_http_port
        self.scheduler_port = scheduler_port
        # Explicit ports win; the rest come from ports.json or are picked free (_aux_ports).
        self._given_ports = {"healthz": scheduler_healthz_port,
                             "metrics": scheduler_metrics_port}
        self.ready_timeout = ready_timeout
        self.log_level = log_level
        self.resources_path: Path | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._ports: dict[str, dict[int, int]] = {}  # app id -> replica -> daprd HTTP port

    # ---- places ------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        base = paths.state_dir(self._state_dir) / "selfhosted"
        base.mkdir(parents=True, exist_ok=True)
        return base

    @property
    def scheduler_address(self) -> str:
        return f"127.0.0.1:{self.scheduler_port}"

    def bin_dirs(self) -> list[Path]:
        if self._bin_dir:
            return [self._bin_dir]
        return bin_dirs(self.runner.environ)

    def binary(self, name: str) -> str:
        """Path of ``daprd`` or ``scheduler``: ``$JOBSLAB_DAPR_BIN``, ``~/.dapr/bin``, then
        PATH."""
        found = find_binary(name, self.runner.environ, self.bin_dirs())
        if found:
            return found
        where = ", ".join(str(d) for d in self.bin_dirs())
        raise SelfHostedError(f"`{name}` was not found in {where} or on PATH.\n"
                           f"  What to do: {INIT_HINT}; or set {ENV_BIN_DIR} to the folder "
                           "that holds it.")

    # ---- the installation's ports ------------------------------------------------------
    @property
    def ports_file(self) -> Path:
        return self.state_dir / "ports.json"

    def aux_ports(self, *, starting: bool = False) -> dict[str, int]:
        """The scheduler's health, metrics and etcd ports of this installation.

        Given ports win; otherwise the ones recorded in ``ports.json``; otherwise free ones,
        recorded for next time. ``starting``: the scheduler is about to start, so a recorded
        port that something else took meanwhile is replaced by a free one.
        """
        try:
            recorded = json.loads(self.ports_file.read_text())
        except (OSError, ValueError):
            recorded = {}
        chosen: dict[str, int] = {}
        for key in AUX_PORTS:
            given = self._given_ports.get(key)
            if given:
                chosen[key] = int(given)
            elif isinstance(recorded.get(key), int):
                chosen[key] = recorded[key]
        if starting:
            for key in AUX_PORTS:
                if key in chosen and not self._given_ports.get(key) and \
                        not _ports.can_bind(chosen[key]):
                    del chosen[key]
        missing = [k for k in AUX_PORTS if k not in chosen]
        if missing:
            taken = {self.scheduler_port, *chosen.values()}
            chosen.update(zip(missing, _ports.free_ports(len(missing), exclude=taken),
                              strict=True))
        if chosen != recorded:
            self.ports_file.write_text(json.dumps(chosen, indent=1) + "\n")
        return chosen

    @property
    def scheduler_healthz_port(self) -> int:
        return self.aux_ports()["healthz"]

    @property
    def scheduler_metrics_port(self) -> int:
        return self.aux_ports()["metrics"]

    # ---- processes ---------------------------------------------------------------------
    def _pidfile(self, key: str) -> Path:
        return self.state_dir / f"{key}.json"

    def _running(self, key: str) -> int | None:
        info = pidfiles.read_pidfile(self._pidfile(key))
        if info is None:
            return None
        proc = self._procs.get(key)
        if proc is not None and proc.pid == info["pid"]:
            return proc.pid if proc.poll() is None else None
        return info["pid"] if pidfiles.same_process(info["pid"], info.get("create_time")) else None

    def _start(self, key: str, argv: list[str], *, guarded: bool) -> subprocess.Popen[bytes]:
        """Start ``argv`` with its log and pidfile; ``guarded``: it ends with this process
        (daprd), else it outlives it in a session of its own (the scheduler)."""
        logfile = self.state_dir / f"{key}.log"
        with logfile.open("wb") as out:
            proc = self.runner.popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     new_session=not guarded, guarded=guarded)
        self._procs[key] = proc
        pidfiles.write_pidfile(self._pidfile(key), proc.pid, key=key, log=str(logfile))
        log.info("started %s (pid %d), log %s", key, proc.pid, logfile)
        return proc

    def _wait_healthy(self, key: str, proc: subprocess.Popen[bytes], url: str,
                      ok: tuple[int, ...]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        logfile = self.state_dir / f"{key}.log"
        while _http_status(url) not in ok:
            if proc.poll() is not None:
                self._stop(key)
                raise SelfHostedError(
                    f"{key} exited with {proc.returncode} before it was healthy.\n"
                    f"{tail(logfile.read_text(errors='replace'))}\n"
                    f"  What to do: read {logfile}; see docs/troubleshooting.md "
                    "(self-hosted problems).")
            if time.monotonic() >= deadline:
                self._stop(key)
                raise SelfHostedError(
                    f"{key} was not healthy at {url} within {self.ready_timeout:.0f} s.\n"
                    f"{tail(logfile.read_text(errors='replace'))}\n"
                    f"  What to do: read {logfile}; check nothing else holds its ports.")
            time.sleep(0.05)  # poll interval of the deadline-bound wait above

    def _stop(self, key: str, timeout: float = 10.0) -> None:
        """Stop ``key``'s process group (daprd and its guard; the scheduler's session)."""
        pid = self._running(key)
        proc = self._procs.pop(key, None)
        if pid is not None:
            info = pidfiles.read_pidfile(self._pidfile(key)) or {"pid": pid}
            pidfiles.stop_group(info, process=proc if proc is not None and proc.pid == pid
                              else None, timeout=timeout)
            log.info("stopped %s (pid %d)", key, pid)
        elif proc is not None:
            proc.wait(timeout=5)  # it exited by itself: reap it
        self._pidfile(key).unlink(missing_ok=True)

    def cleanup_stale(self) -> list[str]:
        """Stop the ``daprd``s recorded in the state dir whose kernel is gone (killed or
        restarted); return their names (``daprd-<app-id>-<replica>``)."""
        cleaned = [str(info.get("key", "")) for info in
                   pidfiles.cleanup_stale(self.state_dir, "daprd-*.json")]
        if cleaned:
            log.info("stopped daprd left by a finished kernel: %s", ", ".join(cleaned))
        return cleaned

    # ---- scheduler ---------------------------------------------------------------------
    def scheduler_argv(self) -> list[str]:
        """The scheduler command line: loopback only, this installation's ports, its etcd
        data in the state dir. Called just before the scheduler starts."""
        aux = self.aux_ports(starting=True)
        return [
            self.binary("scheduler"),
            "--listen-address", "127.0.0.1",
            "--port", str(self.scheduler_port),
            "--healthz-port", str(aux["healthz"]),
            "--metrics-port", str(aux["metrics"]),
            "--metrics-listen-address", "127.0.0.1",
            "--etcd-data-dir", str(self.state_dir / "scheduler-data"),
            "--etcd-client-port", str(aux["etcd_client"]),
            "--etcd-initial-cluster",
            f"dapr-scheduler-server-0=http://localhost:{aux['etcd_peer']}",
            "--log-level", self.log_level,
        ]

    def _healthz_url(self) -> str:
        return f"http://127.0.0.1:{self.scheduler_healthz_port}/healthz"

    def scheduler_healthy(self) -> bool:
        """True when this installation's scheduler runs and answers its health check."""
        return self._running("scheduler") is not None and \
            _http_status(self._healthz_url()) == 200

    def ensure(self) -> None:
        """Stop daprds left by a kernel that is gone; find the binaries and start the
        scheduler if it is not running (idempotent)."""
        self.cleanup_stale()
        self.binary("daprd")
        self._check_version()
        if self.scheduler_healthy():
            return
        self._stop("scheduler")
        self._check_scheduler_port_free()
        proc = self._start("scheduler", self.scheduler_argv(), guarded=False)
        self._wait_healthy("scheduler", proc, self._healthz_url(), (200,))

    def _check_scheduler_port_free(self) -> None:
        """Refuse to start when another process holds the scheduler port: say who, and the
        command that frees it (most often the stand-in's scheduler, which outlives kernels)."""
        port = self.scheduler_port
        if _ports.can_bind(port):
            return
        who = _ports.holder(port)
        if "jobslab" in who:
            fix = ("`jobslab down` stops the local stand-in (its jobs are kept), or choose "
                   "another port for this backend with JOBSLAB_SCHEDULER_PORT")
        else:
            fix = ("stop it, or choose another port for this backend with "
                   "JOBSLAB_SCHEDULER_PORT")
        raise SelfHostedError(
            f"cannot start the real Dapr scheduler: port {port} is held by {who}.\n"
            f"  What to do: {fix}.")

    def _check_version(self) -> None:
        result = self.runner.run([self.binary("daprd"), "--version"], check=False, timeout=30)
        found = result.stdout.strip()
        if result.ok and found and found != pins.DAPR_RUNTIME_VERSION:
            log.warning("daprd %s found; the workbook is written for %s (%s)", found,
                        pins.DAPR_RUNTIME_VERSION, INIT_HINT)

    def restart_scheduler(self) -> None:
        """Stop and start the scheduler; jobs survive in its etcd data dir."""
        self._stop("scheduler")
        self.ensure()

    # ---- replicas ----------------------------------------------------------------------
    def daprd_argv(self, app_id: str, replica: int, app_port: int | None, *,
                   http_port: int | None = None) -> list[str]:
        """The daprd command line of one replica, with the flags ``dapr run`` gives it.

        ``app_port`` ``None``: a sidecar without an app (it still reaches the Scheduler).
        ``http_port`` defaults to ``base_http_port + replica``.
        """
        resources = self.resources_path or self.state_dir / "components"
        resources.mkdir(exist_ok=True)
        http_port = self.base_http_port + replica if http_port is None else http_port
        grpc, internal, metrics = _ports.free_ports(3, exclude={http_port})
        app = [] if app_port is None else ["--app-port", str(app_port)]
        return [
            self.binary("daprd"),
            "--app-id", app_id,
            *app,
            "--app-protocol", "http",
            "--app-channel-address", "127.0.0.1",
            "--dapr-http-port", str(http_port),
            "--dapr-grpc-port", str(grpc),
            "--dapr-internal-grpc-port", str(internal),
            "--metrics-port", str(metrics),
            "--scheduler-host-address", self.scheduler_address,
            "--placement-host-address", "",
            "--resources-path", str(resources),
            # No --enable-app-health-check (Dapr's default): with it, daprd holds back its
            # job streams until the app answers /healthz, and a learner's app without that
            # route never receives a trigger.
            "--log-level", self.log_level,
        ]

    def deploy(self, app_id: str, replicas: int, app_ports: Sequence[int]) -> list[int]:
        """Start one daprd per replica (replacing earlier ones of ``app_id``)."""
        if replicas != len(app_ports):
            raise ValueError(f"{replicas} replicas need {replicas} app ports, got {app_ports}")
        self.ensure()
        self.undeploy(app_id)
        return [self._start_replica(app_id, replica, app_port)
                for replica, app_port in enumerate(app_ports)]

    def _start_replica(self, app_id: str, replica: int, app_port: int) -> int:
        key = f"daprd-{app_id}-{replica}"
        port = self.base_http_port + replica
        proc = self._start(key, self.daprd_argv(app_id, replica, app_port), guarded=True)
        # /v1.0/healthz answers 204 only once daprd reaches the app port (before that, 500);
        # /v1.0/healthz/outbound would answer 204 while the app is still unreachable.
        self._wait_healthy(key, proc, f"http://127.0.0.1:{port}/v1.0/healthz", (204,))
        self._ports.setdefault(app_id, {})[replica] = port
        return port

    def deploy_replica(self, app_id: str, replica: int, app_port: int) -> int:
        """(Re)start the daprd of replica ``replica`` alone; return its HTTP port."""
        self.ensure()
        self.undeploy_replica(app_id, replica)
        return self._start_replica(app_id, replica, app_port)

    def undeploy_replica(self, app_id: str, replica: int) -> None:
        """Stop the daprd of replica ``replica`` of ``app_id`` (a crashed sidecar)."""
        self._stop(f"daprd-{app_id}-{replica}")
        self._ports.get(app_id, {}).pop(replica, None)

    def replica_alive(self, app_id: str, replica: int) -> bool:
        """True while the daprd of replica ``replica`` runs."""
        return self._running(f"daprd-{app_id}-{replica}") is not None

    def log_path(self, app_id: str, replica: int) -> Path:
        """The log file of replica ``replica``'s daprd."""
        return self.state_dir / f"daprd-{app_id}-{replica}.log"

    def sidecar_ports(self, app_id: str) -> list[int]:
        return [port for _, port in sorted(self._ports.get(app_id, {}).items())]

    def undeploy(self, app_id: str) -> None:
        """Stop every daprd of ``app_id`` (found by pidfile, also from earlier sessions)."""
        prefix = f"daprd-{app_id}-"
        for pidfile in sorted(self.state_dir.glob(f"{prefix}*.json")):
            self._stop(pidfile.stem)
        self._ports.pop(app_id, None)

    def close(self) -> None:
        """Stop every daprd this state dir knows of; the scheduler keeps running."""
        for pidfile in sorted(self.state_dir.glob("daprd-*.json")):
            self._stop(pidfile.stem)
        self._ports.clear()

    def stop(self) -> None:
        """Stop every daprd and the scheduler."""
        self.close()
        self._stop("scheduler")
