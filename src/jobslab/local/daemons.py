"""Processes jobslab starts: pidfiles, background start, port checks (``up``/``down``/``status``).

Every process writes ``<state dir>/run/<name>.json`` (pid, port, log file, command) while it
runs, in the one pidfile format of :mod:`jobslab.processes.pidfiles`; ``down`` stops exactly
those, checking that the pid is still the process that wrote it (pid and start time).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .. import ports
from ..errors import JobslabError
from ..processes import pidfiles


class PortInUse(JobslabError, OSError):
    """A port we need is taken; ``str()`` is one line naming the port and its holder."""

    def __init__(self, host: str, port: int, flag: str | None = None) -> None:
        self.port = port
        holder = ports.holder(port)
        fix = f"; stop it or pick another port with {flag}" if flag else ""
        super().__init__(f"port {port} on {host} is already in use by {holder}{fix}")


def bind_listen(host: str, port: int, flag: str | None = None) -> socket.socket:
    """A listening TCP socket on ``host:port``; :class:`PortInUse` when taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP. Without it, Nagle holds a small write (a trigger, a reply) back until
    # the peer's delayed ACK, 40 ms later, whenever the previous one is still unacknowledged.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port, flag) from None
        raise
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class ProcessInfo:
    name: str
    pid: int
    port: int
    host: str
    log: str
    command: list[str]
    started: float

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def run_dir(state_dir: Path) -> Path:
    path = state_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_pidfile(state_dir: Path, info: ProcessInfo) -> Path:
    """Record ``info`` (a process recording itself) in the one pidfile format
    (:mod:`jobslab.processes.pidfiles`)."""
    path = run_dir(state_dir) / f"{info.name}.json"
    fields = asdict(info)
    pidfiles.write_pidfile(path, fields.pop("pid"), **fields)
    return path


def remove_pidfile(state_dir: Path, name: str, pid: int | None = None) -> None:
    path = state_dir / "run" / f"{name}.json"
    if pid is None:
        path.unlink(missing_ok=True)
    else:
        pidfiles.remove_pidfile(path, pid)


pid_alive = pidfiles.pid_alive


def running(state_dir: Path) -> list[ProcessInfo]:
    """Processes with a pidfile that still run (same pid *and* start time; stale pidfiles are
    removed)."""
    found = []
    for path, record in pidfiles.running(state_dir / "run"):
        try:
            found.append(ProcessInfo(**{f.name: record[f.name] for f in fields(ProcessInfo)}))
        except (KeyError, TypeError):
            path.unlink(missing_ok=True)  # an older format: its process is not ours to stop
    return found


def find(state_dir: Path, name: str) -> ProcessInfo | None:
    return next((p for p in running(state_dir) if p.name == name), None)


def stop(info: ProcessInfo, timeout: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True when it is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(info.pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(info.pid):
                return True
            time.sleep(0.02)
    return not pid_alive(info.pid)


@dataclass
class Started:
    info: ProcessInfo
    already: bool


def start_scheduler(state_dir: Path, host: str, port: int, timeout: float = 15.0) -> Started:
    """``jobslab up``: the scheduler in the background, idempotent."""
    existing = find(state_dir, "scheduler")
    if existing is not None:
        return Started(existing, True)
    probe = bind_listen(host, port, "--scheduler-port")  # fail fast, naming the holder
    probe.close()
    log = state_dir / "scheduler.log"
    cmd = [sys.executable, "-m", "jobslab", "scheduler", "serve", "--port", str(port),
           "--host", host, "--state-dir", str(state_dir)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the scheduler exited with code {proc.returncode}; "
                               f"see {log}:\n{tail(log)}")
        info = find(state_dir, "scheduler")
        if info is not None and info.pid == proc.pid:
            return Started(info, False)
        time.sleep(0.01)
    proc.kill()
    raise RuntimeError(f"the scheduler did not start within {timeout:.0f}s; see {log}")


def tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def describe(info: ProcessInfo) -> dict[str, Any]:
    return {**asdict(info), "address": info.address}


#: What a state dir holds (``reset`` deletes these and nothing else, so a mistaken
#: ``--state-dir`` or ``$JOBSLAB_HOME`` can never empty an unrelated folder).
STATE_ENTRIES = ("run", "serve", "logs", "selfhosted", "scheduler.db", "scheduler.db-wal",
                 "scheduler.db-shm", "*.log", "port-forward-*.json")


def reset(state_dir: Path) -> list[dict[str, Any]]:
    """Stop every process recorded under ``state_dir`` and delete what it held: the jobs (the
    stand-in's store, the self-hosted scheduler's etcd data), logs and pidfiles. Returns the
    records of the processes that were running."""
    stopped = pidfiles.stop_everything(state_dir)
    for pattern in STATE_ENTRIES:
        for path in sorted(state_dir.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return stopped
