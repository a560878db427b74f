"""Stacks for the contract tests: a scheduler and its sidecars as real processes, and an app.

Everything here starts *real* processes and talks real HTTP; nothing is mocked. A stack is
either the stand-in (``python -m jobslab scheduler serve`` / ``run``: :class:`Stack`) or real Dapr
1.18.3 (``scheduler`` / ``daprd``: :class:`DaprStack`), with one interface, so the same test
body runs against both (``stack(tmp, backend)``, parametrized over :data:`BACKENDS`).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from jobslab.ports import accepts
from support.ports import free_port
from support.processes import child_env, kill_group
from support.waiting import wait_until

#: The two backends the contract tests run against: the same test bodies, parametrized.
BACKENDS = [pytest.param("standin"), pytest.param("dapr", marks=pytest.mark.realdapr)]


# --- a recording app --------------------------------------------------------------------


@dataclass
class Call:
    at: float
    method: str
    path: str
    body: bytes
    headers: dict[str, str]

    @property
    def job(self) -> str:
        return unquote(self.path[len("/job/"):]) if self.path.startswith("/job/") else ""


class _AppServer(ThreadingHTTPServer):
    # The stdlib's listen backlog is 5. A sidecar delivering hundreds of due triggers at once
    # opens many connections; with a backlog of 5 the kernel drops SYNs and the client's TCP
    # retransmits (1 s, 3 s, 7 s …) stall delivery for tens of seconds. Real servers (uvicorn:
    # 2048) do not have this problem, so neither should the test app.
    request_queue_size = 1024
    daemon_threads = True


@dataclass
class RecordingApp:
    """A stdlib HTTP app in a thread that records every request.

    ``status`` maps a job name to the status to answer (default 200), or to a list of statuses
    answered in turn (the last one repeats); ``delay`` makes a job's handler slow.
    """

    port: int = 0
    tag: str = ""
    status: dict[str, int | list[int]] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    #: What ``OPTIONS`` answers (daprd's cron-binding probe: 2xx or 405 means "subscribed").
    options_status: int = 200
    calls: list[Call] = field(default_factory=list)
    done: list[tuple[str, float]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _closed: bool = False
    _lock: Any = None

    def start(self) -> RecordingApp:
        app = self
        lock = threading.Lock()
        self._closed = False

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                call = Call(time.time(), self.command, self.path, body,
                            {k.lower(): v for k, v in self.headers.items()})
                with lock:  # a stopped app records nothing (its handler threads outlive stop)
                    if app._closed:
                        self.close_connection = True
                        return
                    app.calls.append(call)
                code = (app.options_status if call.method == "OPTIONS"
                        else app.status.get(call.job, 200))
                if isinstance(code, list):
                    code = code.pop(0) if len(code) > 1 else code[0]
                if call.job in app.delay:
                    time.sleep(app.delay[call.job])
                app.done.append((call.job, time.time()))
                reply = b'{"status":"DROP"}' if code >= 300 else b"ok"
                self.send_response(code)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_OPTIONS = do_GET = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._lock = lock
        self._server = _AppServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening; from now on nothing more is recorded, so ``calls`` is final."""
        if self._server:
            with self._lock:
                self._closed = True
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def jobs(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.job == name]

    def jobs_called(self) -> list[Call]:
        """Every job trigger received (not daprd's start-up ``GET /dapr/config``, nor a cron
        binding's calls)."""
        return [c for c in self.calls if c.job]


# --- real processes ---------------------------------------------------------------------


def _popen(argv: list[str], env: dict[str, str] | None = None,
           log: Path | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(argv, env=child_env(env), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _spawn(args: list[str], env: dict[str, str] | None = None,
           log: Path | None = None) -> subprocess.Popen[bytes]:
    return _popen([sys.executable, "-m", "jobslab", *args], env=env, log=log)


@dataclass
class Sidecar:
    proc: subprocess.Popen[bytes]
    port: int
    app_id: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 15), **kw)

    def health(self, path: str = "/v1.0/healthz") -> int | None:
        try:
            return httpx.get(self.url + path, timeout=0.5).status_code
        except httpx.HTTPError:
            return None


class _Stack:
    """What both stacks share: sidecar bookkeeping and backend-neutral waits."""

    backend = ""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.sidecars: list[Sidecar] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _start_sidecar(self, argv: list[str], app_id: str, port: int,
                       env: dict[str, str] | None, wait: bool) -> Sidecar:
        proc = _popen(argv, env=env, log=self.state_dir / f"sidecar-{app_id}-{port}.out")
        car = Sidecar(proc, port, app_id)
        self.sidecars.append(car)
        if wait:  # the API is up; /v1.0/healthz itself waits for the app (and the Scheduler)
            wait_until(lambda: car.health("/v1.0/healthz/outbound") == 204
                       or proc.poll() is not None, timeout=30, what="the sidecar's API")
            assert proc.poll() is None, "sidecar exited"
        return car

    def kill_scheduler(self, sig: int = signal.SIGKILL) -> None:
        assert self.scheduler is not None
        kill_group(self.scheduler, sig)
        self.scheduler = None

    def gone(self, car: Sidecar, *names: str) -> bool:
        """True once none of ``names`` exists any more (GET answers 500 not found)."""
        with car.client() as c:
            return all(c.get(f"/v1.0/jobs/{n}").status_code == 500 for n in names)

    def close(self) -> None:
        for car in self.sidecars:
            kill_group(car.proc)
        if self.scheduler is not None:
            kill_group(self.scheduler)


class Stack(_Stack):
    """The stand-in: a scheduler plus any number of sidecars, each a real process."""

    backend = "standin"

    def start_scheduler(self) -> None:
        self.scheduler = _spawn(["scheduler", "serve", "--port", str(self.port), "--state-dir",
                                 str(self.state_dir)], log=self.state_dir / "scheduler.out")
        wait_until(lambda: accepts(self.port) or self.scheduler.poll() is not None,
                   what="the scheduler port")
        assert self.scheduler.poll() is None, (self.state_dir / "scheduler.out").read_text()

    def sidecar(self, app_id: str, app_port: int | None = None,
                env: dict[str, str] | None = None, extra: list[str] | None = None,
                wait: bool = True) -> Sidecar:
        port = free_port()
        args = ["run", "--app-id", app_id, "--dapr-http-port", str(port),
                "--scheduler-host-address", self.address, "--state-dir", str(self.state_dir)]
        if app_port:
            args += ["--app-port", str(app_port)]
        return self._start_sidecar([sys.executable, "-m", "jobslab", *args, *(extra or [])],
                                   app_id, port, env, wait)

    def watching(self, app_id: str, count: int, ns: str = "default") -> None:
        """Wait until ``count`` sidecars of ``app_id`` receive triggers."""
        def ok() -> bool:
            try:
                stats = self.stats()
            except OSError:
                return False
            return stats["watching"].get(f"{ns}/{app_id}", 0) == count

        wait_until(ok, what=f"{count} watching sidecars of {app_id}")

    def stats(self) -> dict[str, Any]:
        from jobslab.local.cli import rpc

        return rpc(self.address, "stats")["stats"]

    def failed(self) -> int:
        """Trigger attempts that failed so far."""
        return int(self.stats()["failed"])


class DaprStack(_Stack):
    """Real Dapr 1.18.3: ``scheduler`` (embedded etcd in the state dir) and one ``daprd`` per
    sidecar, started with the command lines :class:`jobslab.selfhosted.SelfHostedBackend`
    builds (its own free health, metrics and etcd ports)."""

    backend = "dapr"
    #: daprd opens this many job streams to each Scheduler (``--scheduler-job-streams``).
    STREAMS = 3

    def __init__(self, state_dir: Path) -> None:
        from jobslab.selfhosted import SelfHostedBackend

        super().__init__(state_dir)
        self.impl = SelfHostedBackend(state_dir=state_dir, scheduler_port=self.port)

    def start_scheduler(self) -> None:
        log = self.state_dir / "scheduler.out"
        self.scheduler = _popen(self.impl.scheduler_argv(), log=log)
        healthz = f"http://127.0.0.1:{self.impl.scheduler_healthz_port}/healthz"
        wait_until(lambda: _status(healthz) == 200 or self.scheduler.poll() is not None,
                   timeout=30, what="the scheduler's health check")
        assert self.scheduler.poll() is None, log.read_text()

    def sidecar(self, app_id: str, app_port: int | None = None,
                env: dict[str, str] | None = None, extra: list[str] | None = None,
                wait: bool = True) -> Sidecar:
        port = free_port()
        argv = self.impl.daprd_argv(app_id, 0, app_port, http_port=port)
        return self._start_sidecar(argv + (extra or []), app_id, port, env, wait)

    def metric(self, name: str) -> float:
        """A value of the scheduler's Prometheus metrics (0 when not exported yet)."""
        url = f"http://127.0.0.1:{self.impl.scheduler_metrics_port}/metrics"
        text = httpx.get(url, timeout=2).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def watching(self, app_id: str, count: int, ns: str = "default") -> None:
        """Wait until ``count`` sidecars of ``app_id`` are ready (app reachable) and the
        Scheduler counts the job streams of every ready sidecar of the stack."""
        def ok() -> bool:
            alive = [c for c in self.sidecars if c.proc.poll() is None]
            ready = [c for c in alive if c.health() == 204]
            mine = [c for c in ready if c.app_id == app_id]
            try:
                streams = self.metric("dapr_scheduler_sidecars_connected")
            except httpx.HTTPError:
                return False
            return len(mine) == count and streams == self.STREAMS * len(ready)

        wait_until(ok, timeout=60, what=f"{count} watching sidecars of {app_id}")

    def failed(self) -> int:
        return int(self.metric("dapr_scheduler_jobs_failed_total"))


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=0.5).status_code
    except httpx.HTTPError:
        return None


@contextlib.contextmanager
def stack(tmp: Path, backend: str = "standin") -> Iterator[Stack | DaprStack]:
    """A started scheduler of ``backend`` ("standin" or "dapr") in ``tmp``; everything it
    started is killed afterwards."""
    s: Stack | DaprStack = DaprStack(tmp) if backend == "dapr" else Stack(tmp)
    try:
        s.start_scheduler()
        yield s
    finally:
        s.close()


def error(resp: httpx.Response) -> tuple[int, str, str]:
    body = resp.json()
    return resp.status_code, body.get("errorCode", ""), body.get("message", "")
