"""``kubectl port-forward`` to each sidecar's HTTP port, kept alive by a watchdog.

A port-forward dies when its pod is replaced
(docs/kind.md#how-a-trigger-reaches-a-handler-on-the-host). The :class:`PortForwardManager`
checks its forwards every ``interval`` seconds from a daemon thread and restarts any that
exited; ``deploy/<name>`` then resolves to the new pod.

Kernel hygiene (docs/architecture.md#kernel-hygiene), as for the local sidecars: each
``kubectl port-forward`` runs under :mod:`jobslab.processes.guard` in a process group of its
own — "Interrupt kernel" leaves it running, the end of the kernel stops it — and, given a
``pid_dir``, is recorded in ``<pid_dir>/port-forward-<port>.json``. :func:`cleanup_stale`
(run by ``jobslab.connect()`` on kind and by ``jobslab cluster forward --stop``) stops those
whose kernel is gone.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from .. import pins
from ..errors import BackendError, ClusterError
from ..ports import accepts as port_accepts
from ..ports import wait_free
from ..processes import pidfiles
from ..processes.runner import Runner, tail

log = logging.getLogger(__name__)


class PortForward:
    """One ``kubectl port-forward <target> <local_port>:<remote_port>`` process."""

    def __init__(
        self,
        runner: Runner,
        target: str,
        local_port: int,
        *,
        remote_port: int = pins.SIDECAR_HTTP_PORT,
        context: str | None = None,
        namespace: str = pins.APP_NAMESPACE,
        log_path: Path | None = None,
        pid_dir: Path | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.runner = runner
        self.target = target
        self.local_port = local_port
        self.remote_port = remote_port
        self.context = context
        self.namespace = namespace
        self.log_path = log_path
        self.pid_dir = pid_dir
        self.ready_timeout = ready_timeout
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[Any] | None = None

    @property
    def argv(self) -> list[str]:
        ctx = ["--context", self.context] if self.context else []
        return ["kubectl", *ctx, "port-forward", "--namespace", self.namespace,
                "--address", "127.0.0.1", self.target, f"{self.local_port}:{self.remote_port}"]

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _output(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    @property
    def pidfile(self) -> Path | None:
        return pidfile(self.pid_dir, self.local_port) if self.pid_dir else None

    def start(self) -> None:
        """Start the process and wait (with a deadline) until the local port accepts."""
        if self.alive:
            return
        if port_accepts(self.local_port):
            self._free_port_of_leftover()
        if port_accepts(self.local_port):
            raise ClusterError(
                f"port {self.local_port} on 127.0.0.1 is already in use ({self._holder()}), so "
                f"the sidecar of {self.target} cannot be forwarded there.\n  What to do: stop "
                f"what listens there (`lsof -i :{self.local_port}`), or choose another Dapr "
                "HTTP port."
            )
        self._close_log()
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("wb")
        self.proc = self.runner.popen(
            self.argv, stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            guarded=True)
        if self.pidfile is not None:

            pidfiles.write_pidfile(self.pidfile, self.proc.pid, target=self.target,
                                 context=self.context, namespace=self.namespace,
                                 local_port=self.local_port, remote_port=self.remote_port,
                                 log=str(self.log_path or ""))
        deadline = time.monotonic() + self.ready_timeout
        while not port_accepts(self.local_port):
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise ClusterError(
                    f"`kubectl port-forward {self.target}` exited with {code} "
                    f"before 127.0.0.1:{self.local_port} accepted connections.\n"
                    f"{tail(self._output())}\n  What to do: check the pod runs "
                    f"(`kubectl --context {self.context} get pods`), see "
                    "docs/troubleshooting.md (problems 14, 15)."
                )
            if time.monotonic() >= deadline:
                self.stop()
                raise ClusterError(
                    f"127.0.0.1:{self.local_port} did not accept connections within "
                    f"{self.ready_timeout:.0f} s of starting `kubectl port-forward {self.target}`."
                    "\n  What to do: see docs/troubleshooting.md (problem 15)."
                )
            time.sleep(0.05)  # poll interval of the deadline-bound wait above
        log.info("forwarding 127.0.0.1:%d -> %s:%d", self.local_port, self.target,
                 self.remote_port)

    def _free_port_of_leftover(self) -> None:
        """Stop the recorded forward on this port if its kernel is gone or is this process
        (a leftover of an earlier backend object); leave another live kernel's alone."""
        if self.pidfile is None:
            return

        info = pidfiles.holder(self.pidfile)
        if info is None:
            return
        if info.get("owner_pid") == os.getpid() or not pidfiles.owner_alive(info):
            log.info("stopping the leftover port-forward on %d (%s)", self.local_port,
                     info.get("target"))
            pidfiles.stop_group(info)
            pidfiles.remove_pidfile(self.pidfile, info["pid"])
            wait_free(self.local_port, 5.0)

    def _holder(self) -> str:
        info = None
        if self.pidfile is not None:

            info = pidfiles.holder(self.pidfile)
        if info is not None:
            return (f"by the port-forward of {info.get('target')} that another kernel "
                    f"(pid {info.get('owner_pid')}) started; stop it there (`handle.stop()`)")
        return "not by a port-forward of this state dir"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:

            pidfiles.stop_group({"pid": proc.pid}, process=proc, timeout=5.0)
            if self.pidfile is not None:
                pidfiles.remove_pidfile(self.pidfile, proc.pid)
            # A forward started next on this port (a replica redeployed, a watchdog restart)
            # must find it free: the old listener may close a moment after its process stops.
            wait_free(self.local_port, 5.0)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def pidfile(pid_dir: Path, local_port: int) -> Path:
    """Where the forward to ``127.0.0.1:<local_port>`` is recorded."""
    return pid_dir / f"port-forward-{local_port}.json"


def cleanup_stale(pid_dir: Path) -> list[int]:
    """Stop the port-forwards recorded in ``pid_dir`` whose kernel is gone (killed, or its
    guard killed outright); return the local ports they held, now free."""

    freed = [int(info.get("local_port", 0))
             for info in pidfiles.cleanup_stale(pid_dir, "port-forward-*.json")]
    for port in freed:
        wait_free(port, 5.0)
    return freed


def recorded(pid_dir: Path) -> list[dict[str, Any]]:
    """The running port-forwards recorded in ``pid_dir`` (each with ``owner_pid``)."""

    found = (pidfiles.holder(p) for p in sorted(pid_dir.glob("port-forward-*.json")))
    return [info for info in found if info is not None]


class PortForwardManager:
    """Owns several :class:`PortForward` and restarts those that die.

    ``interval`` is how often the watchdog looks; a forward that fails to restart is tried
    again on later rounds (its error is logged), so a pod that takes a while to come back
    is picked up once it runs.
    """

    def __init__(self, runner: Runner, *, interval: float = 0.5) -> None:
        self.runner = runner
        self.interval = interval
        self._forwards: dict[int, PortForward] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def forwards(self) -> list[PortForward]:
        with self._lock:
            return list(self._forwards.values())

    def add(self, forward: PortForward) -> PortForward:
        """Start ``forward`` (replacing one on the same local port) and watch it."""
        self.remove(forward.local_port)
        forward.start()
        with self._lock:
            self._forwards[forward.local_port] = forward
        self._ensure_watchdog()
        return forward

    def remove(self, local_port: int) -> None:
        with self._lock:
            forward = self._forwards.pop(local_port, None)
        if forward is not None:
            forward.stop()

    def _ensure_watchdog(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watch, name="jobslab-port-forward-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            for forward in self.forwards:
                if forward.alive or self._stop.is_set():
                    continue
                with self._lock:
                    if self._forwards.get(forward.local_port) is not forward:
                        continue  # removed meanwhile
                log.warning("port-forward %s on %d died; restarting it", forward.target,
                            forward.local_port)
                try:
                    forward.start()
                except BackendError as exc:
                    log.warning("restarting the port-forward failed, will retry: %s", exc)
                    continue
                forward.restarts += 1

    def stop(self) -> None:
        """Stop the watchdog and every forward."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for port in [f.local_port for f in self.forwards]:
            self.remove(port)
