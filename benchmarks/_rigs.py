"""Scheduler + sidecar + the no-op app as real processes: the stand-in's or real Dapr's.

Both rigs have the same shape, so one benchmark drives either: ``start()`` launches the app,
then the scheduler (waits until it is ready), then the sidecar (waits until a schedule call
succeeds), and records how long the last two took; ``http_port`` is the sidecar's HTTP API;
``dump()`` reads and clears the app's records; ``rss_mib()`` is scheduler + sidecar;
``close()`` kills everything it started.

Every port is picked free and passed explicitly (real Dapr's scheduler embeds etcd, whose
default client and peer ports would collide between instances).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
NOOP_APP = HERE / "_noop_app.py"
APP_ID = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dapr_binaries() -> tuple[str, str] | None:
    """(daprd, scheduler) from ``~/.dapr/bin``, else PATH; None when either is missing."""
    found = []
    for name in ("daprd", "scheduler"):
        candidate = Path.home() / ".dapr" / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found.append(str(candidate))
        elif shutil.which(name):
            found.append(str(shutil.which(name)))
        else:
            return None
    return found[0], found[1]


def dapr_version(daprd: str) -> str:
    out = subprocess.run([daprd, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def _http(port: int, method: str, path: str, body: bytes | None = None,
          timeout: float = 1.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _status(port: int, method: str, path: str, body: bytes | None = None) -> int | None:
    try:
        return _http(port, method, path, body, timeout=0.5)[0]
    except OSError:
        return None


def _until(pred: Any, what: str, timeout: float = 30.0, every: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark set-up: {what} not ready within {timeout:.0f} s")
        time.sleep(every)


class Rig:
    name = "?"

    def __init__(self, state: Path) -> None:
        self.state = state
        self.app_port = free_port()
        self.http_port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.sidecar: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, float] = {}

    def _spawn(self, argv: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(self.state / log, "wb") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        self.procs.append(p)
        return p

    # what differs between the two
    def _scheduler_argv(self) -> list[str]:
        raise NotImplementedError

    def _scheduler_ready(self) -> bool:
        raise NotImplementedError

    def _sidecar_argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self._spawn([sys.executable, str(NOOP_APP), str(self.app_port)], "app.log")
        _until(lambda: _status(self.app_port, "GET", "/dump") == 200, "no-op app")
        t0 = time.perf_counter()
        self.scheduler = self._spawn(self._scheduler_argv(), "scheduler.log")
        _until(self._scheduler_ready, f"{self.name} scheduler")
        t1 = time.perf_counter()
        self.sidecar = self._spawn(self._sidecar_argv(), "sidecar.log")
        probe = json.dumps({"dueTime": "24h", "data": "probe"}).encode()
        _until(lambda: _status(self.http_port, "POST", "/v1.0/jobs/ready-probe", probe) == 204,
               f"{self.name} sidecar")
        t2 = time.perf_counter()
        self.ready = {"scheduler_s": t1 - t0, "sidecar_s": t2 - t1, "total_s": t2 - t0}
        self.dump()

    def dump(self) -> dict[str, Any]:
        status, body = _http(self.app_port, "GET", "/dump", timeout=30)
        assert status == 200, status
        data: dict[str, Any] = json.loads(body)
        return data

    def pids(self) -> list[int]:
        return [p.pid for p in (self.scheduler, self.sidecar) if p is not None]

    def rss_mib(self) -> float:
        total = 0
        for pid in self.pids():
            proc = psutil.Process(pid)
            total += proc.memory_info().rss
            total += sum(c.memory_info().rss for c in proc.children(recursive=True))
        return total / 2**20

    def close(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        self.procs.clear()


class StandinRig(Rig):
    """``jobslab scheduler serve`` + ``jobslab run`` (the project's stand-in)."""

    name = "stand-in"

    def __init__(self, state: Path) -> None:
        super().__init__(state)
        self.sched_port = free_port()

    def _scheduler_argv(self) -> list[str]:
        return [sys.executable, "-m", "jobslab", "scheduler", "serve",
                "--port", str(self.sched_port), "--state-dir", str(self.state)]

    def _scheduler_ready(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.sched_port)) == 0

    def _sidecar_argv(self) -> list[str]:
        return [sys.executable, "-m", "jobslab", "run", "--app-id", APP_ID, "--app-port",
                str(self.app_port), "--dapr-http-port", str(self.http_port),
                "--scheduler-host-address", f"127.0.0.1:{self.sched_port}",
                "--state-dir", str(self.state)]


class DaprRig(Rig):
    """Real Dapr: ``scheduler`` (embedded etcd) + ``daprd``, self-hosted, no Docker."""

    name = "daprd"

    def __init__(self, state: Path, daprd: str, scheduler: str) -> None:
        super().__init__(state)
        self.daprd, self.scheduler_bin = daprd, scheduler
        self.sched_port, self.healthz_port = free_port(), free_port()

    def _scheduler_argv(self) -> list[str]:
        return [self.scheduler_bin, "--listen-address", "127.0.0.1",
                "--port", str(self.sched_port), "--healthz-port", str(self.healthz_port),
                "--metrics-port", str(free_port()),
                "--etcd-data-dir", str(self.state / "etcd"),
                "--etcd-client-port", str(free_port()),
                "--etcd-initial-cluster",
                f"dapr-scheduler-server-0=http://localhost:{free_port()}",
                "--log-level", "warn"]

    def _scheduler_ready(self) -> bool:
        return _status(self.healthz_port, "GET", "/healthz") == 200

    def _sidecar_argv(self) -> list[str]:
        resources = self.state / "components"
        resources.mkdir(exist_ok=True)
        return [self.daprd, "--app-id", APP_ID, "--app-port", str(self.app_port),
                "--app-protocol", "http", "--app-channel-address", "127.0.0.1",
                "--dapr-http-port", str(self.http_port),
                "--dapr-grpc-port", str(free_port()),
                "--dapr-internal-grpc-port", str(free_port()),
                "--metrics-port", str(free_port()),
                "--scheduler-host-address", f"127.0.0.1:{self.sched_port}",
                "--placement-host-address", "",
                "--resources-path", str(resources),
                "--log-level", "warn"]
