"""``JOBSLAB_BACKEND=selfhosted`` end to end, without Dapr binaries.

Fake ``daprd`` and ``scheduler`` executables in a fake ``~/.dapr/bin`` record their argv and
translate the flags jobslab passes them (docs/kind.md#the-self-hosted-path-no-docker-no-kubernetes)
into the project's stand-in
(``python -m jobslab run ...`` / ``python -m jobslab scheduler serve ...``). Everything else is the
real code path: ``jobslab.connect()``, ``jobslab.serve()``, the adapter, ``SelfHostedBackend``,
uvicorn in threads, triggers over real HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi import FastAPI, Request

import jobslab
from jobslab import jobs, settings
from jobslab import ports as _ports
from jobslab.hosting import LocalOnlyError, _serve
from jobslab.processes import pid_alive

pytestmark = pytest.mark.slow

# Both fakes append {"tool", "argv"} to $FAKE_DAPR_RECORD, answer --version, then run the
# stand-in with the flags it shares with daprd / the scheduler.
PRELUDE = '''
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["FAKE_DAPR_RECORD"], "a") as fh:
    fh.write(json.dumps({"tool": "@TOOL@", "argv": argv}) + "\\n")
if "--version" in argv:
    print("1.18.3")
    sys.exit(0)
def opt(name):
    return argv[argv.index(name) + 1]
'''

FAKE_DAPRD = '''
cmd = [sys.executable, "-m", "jobslab", "run"]
for name in ("--app-id", "--app-port", "--dapr-http-port", "--scheduler-host-address",
             "--app-channel-address", "--resources-path"):
    cmd += [name, opt(name)]
os.execv(sys.executable, cmd)  # same pid: the backend's SIGTERM reaches the stand-in
'''

FAKE_SCHEDULER = '''
import signal, socket, subprocess, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port = int(opt("--port"))
child = subprocess.Popen([sys.executable, "-m", "jobslab", "scheduler", "serve",
                          "--port", str(port), "--host", opt("--listen-address"),
                          "--state-dir", opt("--etcd-data-dir")])
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            code = 200 if self.path == "/healthz" else 404
        except OSError:
            code = 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", int(opt("--healthz-port"))), Health)
threading.Thread(target=server.serve_forever, daemon=True).start()
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
while not done.wait(0.1) and child.poll() is None:
    pass
child.terminate()
child.wait(10)
'''


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def make_app() -> FastAPI:
    app = FastAPI()

    @app.post("/job/{name}")
    async def on_job(name: str, request: Request) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


# -- a kernel that gets killed ------------------------------------------------------------------
#: What a notebook does before its kernel is killed: connect, serve two replicas, then idle.
#: argv: app id, base Dapr HTTP port, connect() options as JSON, where to write what it served.
KERNEL = """
import json, sys, time
from fastapi import FastAPI
import jobslab
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {"ok": True}
jobslab.connect(**json.loads(sys.argv[3]))
handle = jobslab.serve(app, app_id=sys.argv[1], replicas=2, dapr_http_port=int(sys.argv[2]))
with open(sys.argv[4] + ".tmp", "w") as fh:
    json.dump({"app_ports": [r.app_port for r in handle.replicas]}, fh)
import os
os.replace(sys.argv[4] + ".tmp", sys.argv[4])
time.sleep(600)
"""


def start_kernel(tmp_path: Path, app_id: str, base: int,
                 options: dict[str, Any] | None = None) -> tuple[subprocess.Popen[bytes], dict]:
    """Run :data:`KERNEL` (this test's environment: backend, fakes, JOBSLAB_HOME) and wait,
    with a deadline, until it serves."""
    served = tmp_path / f"kernel-{app_id}.json"
    log = tmp_path / f"kernel-{app_id}.log"
    with log.open("wb") as out:
        kernel = subprocess.Popen(
            [sys.executable, "-c", KERNEL, app_id, str(base), json.dumps(options or {}),
             str(served)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while not served.exists():
        if kernel.poll() is not None or time.monotonic() > deadline:
            kernel.kill()
            kernel.wait(10)
            pytest.fail(f"the kernel did not serve: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    return kernel, json.loads(served.read_text())


def kill_kernel(kernel: subprocess.Popen[bytes], guards: list[int], *,
                guards_too: bool) -> list[int]:
    """SIGKILL ``kernel``. With ``guards_too`` also its guards — frozen first, so that none
    can stop what it runs — which leaves their children orphaned, holding ports. Returns the
    pids of those children."""
    children = [c.pid for g in guards for c in psutil.Process(g).children()]
    assert len(children) == len(guards)
    if guards_too:
        os.kill(kernel.pid, signal.SIGSTOP)  # no watchdog may restart anything meanwhile
        for pid in guards:
            os.kill(pid, signal.SIGKILL)
    kernel.kill()
    kernel.wait(10)
    return children


def guard_pids(pid_dir: Path, pattern: str) -> list[int]:
    return [pid_of(p) for p in sorted(pid_dir.glob(pattern))]


class Fakes:
    def __init__(self, record: Path) -> None:
        self.record = record

    def calls(self, tool: str) -> list[list[str]]:
        if not self.record.exists():
            return []
        rows = [json.loads(line) for line in self.record.read_text().splitlines()]
        return [r["argv"] for r in rows if r["tool"] == tool and "--version" not in r["argv"]]


@pytest.fixture
def selfhosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_dir: Path,
               ports: dict[str, int]) -> Any:
    """Fake ``dapr init --slim`` binaries in a fake HOME; JOBSLAB_BACKEND=selfhosted."""
    bin_dir = tmp_path / "home" / ".dapr" / "bin"
    bin_dir.mkdir(parents=True)
    for name, source in (("daprd", FAKE_DAPRD), ("scheduler", FAKE_SCHEDULER)):
        script = tmp_path / f"fake_{name}.py"
        script.write_text(PRELUDE.replace("@TOOL@", name) + source)
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
        wrapper.chmod(0o755)
    record = tmp_path / "dapr-record.jsonl"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FAKE_DAPR_RECORD", str(record))
    monkeypatch.setenv("JOBSLAB_BACKEND", "selfhosted")
    monkeypatch.setenv("JOBSLAB_SCHEDULER_PORT", str(ports["scheduler_port"]))
    monkeypatch.setattr(_serve, "_backend", None)
    monkeypatch.setattr(settings, "_connected", None)
    yield Fakes(record)
    backend = _serve._backend
    _serve.stop_all()
    if backend is not None and backend.name == "selfhosted":
        backend.impl.stop()  # type: ignore[attr-defined]


def test_serve_two_replicas_on_selfhosted_end_to_end(selfhosted: Fakes, ports: dict[str, int],
                                                     spare_ports: list[int],
                                                     until: Any) -> None:
    healthz_port, metrics_port = spare_ports
    base = ports["dapr_http_port"]
    conn = jobslab.connect(scheduler_healthz_port=healthz_port,
                           scheduler_metrics_port=metrics_port)
    assert conn.backend == "selfhosted"
    assert conn.details["scheduler"] == f"127.0.0.1:{ports['scheduler_port']}"
    assert conn.details["daprd version"] == "1.18.3"
    assert conn.supports("scheduler_restart") and not conn.supports("job_list")

    handle = jobslab.serve(make_app(), app_id="sh-lab", replicas=2, dapr_http_port=base)
    assert handle.app_host == "127.0.0.1"
    assert [r.dapr_http_port for r in handle.replicas] == [base, base + 1]
    assert all(r.running for r in handle.replicas)

    # the scheduler: the flags of docs/kind.md (self-hosted), loopback only, ports clear of
    # app ports
    [sched] = selfhosted.calls("scheduler")
    assert flag(sched, "--listen-address") == "127.0.0.1"
    assert flag(sched, "--port") == str(ports["scheduler_port"])
    assert flag(sched, "--healthz-port") == str(healthz_port)
    assert flag(sched, "--metrics-port") == str(metrics_port)
    assert flag(sched, "--etcd-data-dir").endswith("scheduler-data")
    # one daprd per replica with the flags of `dapr run`
    daprds = selfhosted.calls("daprd")
    assert len(daprds) == 2
    for replica, argv in zip(handle.replicas, daprds, strict=True):
        assert flag(argv, "--app-id") == "sh-lab"
        assert flag(argv, "--app-port") == str(replica.app_port)
        assert flag(argv, "--dapr-http-port") == str(replica.dapr_http_port)
        assert flag(argv, "--scheduler-host-address") == f"127.0.0.1:{ports['scheduler_port']}"
        assert flag(argv, "--placement-host-address") == ""
        assert flag(argv, "--app-channel-address") == "127.0.0.1"
        assert flag(argv, "--app-protocol") == "http"

    jobs.schedule("tick", "@every 1s", repeats=4, port=handle.dapr_http_port)
    frame = handle.wait_for(4, job="tick", timeout=30)
    assert len(frame) == 4 and set(frame["replica"]) == {0, 1}

    with pytest.raises(LocalOnlyError, match="dapr scheduler list"):
        jobs.list_jobs(port=handle.dapr_http_port)

    # the scheduler can be restarted here; the sidecars reconnect and delivery goes on
    old_pid = pid_of(state_of(handle) / "scheduler.json")
    assert handle.supports_scheduler_restart
    handle.restart_scheduler()
    assert pid_of(state_of(handle) / "scheduler.json") != old_pid
    assert not pid_alive(old_pid)
    jobs.schedule("after", due_time="1s", port=handle.dapr_http_port)
    handle.wait_for(1, job="after", timeout=30)

    pids = [pid_of(p) for p in state_of(handle).glob("daprd-sh-lab-*.json")]
    assert len(pids) == 2
    handle.stop()
    for pid in pids:
        until(lambda pid=pid: not pid_alive(pid), 10, f"daprd {pid} stopped")
    assert not list(state_of(handle).glob("daprd-*.json"))
    for port in (base, base + 1, *(r.app_port for r in handle.replicas)):
        until(lambda port=port: _ports.can_bind(port), 10, f"port {port} free")

    # the scheduler outlives the handle (like `jobslab up`); stopping it leaves nothing
    sched_pid = pid_of(state_of(handle) / "scheduler.json")
    children = [c.pid for c in psutil.Process(sched_pid).children(recursive=True)]
    handle.backend.impl.stop()  # type: ignore[attr-defined]
    for pid in (sched_pid, *children):
        until(lambda pid=pid: not pid_alive(pid), 10, f"scheduler process {pid} stopped")


def test_replica_stop_and_start_restarts_only_its_daprd(selfhosted: Fakes,
                                                        ports: dict[str, int],
                                                        spare_ports: list[int]) -> None:
    healthz_port, metrics_port = spare_ports
    jobslab.connect(scheduler_healthz_port=healthz_port, scheduler_metrics_port=metrics_port)
    handle = jobslab.serve(make_app(), app_id="sh-two", replicas=2,
                           dapr_http_port=ports["dapr_http_port"])
    kept = pid_of(state_of(handle) / "daprd-sh-two-0.json")
    handle.replicas[1].stop()
    assert not handle.replicas[1].running and handle.replicas[0].running
    assert not (state_of(handle) / "daprd-sh-two-1.json").exists()
    handle.replicas[1].start()
    assert handle.replicas[1].running
    assert pid_of(state_of(handle) / "daprd-sh-two-0.json") == kept
    url = f"http://127.0.0.1:{handle.replicas[1].dapr_http_port}/v1.0/healthz"
    assert httpx.get(url).status_code == 204
    assert len(selfhosted.calls("daprd")) == 3
    handle.stop()


def test_missing_binaries_say_to_run_dapr_init_slim(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     state_dir: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    monkeypatch.setattr(_serve, "_backend", None)
    monkeypatch.setattr(settings, "_connected", None)
    with pytest.raises(jobslab.hosting.ServeError, match="dapr init --slim"):
        jobslab.connect("selfhosted")


def state_of(handle: Any) -> Path:
    return Path(handle.backend.impl.state_dir)


def pid_of(pidfile: Path) -> int:
    return int(json.loads(pidfile.read_text())["pid"])


def serve_after_a_killed_kernel(tmp_path: Path, base: int, pid_dir: Path, pattern: str,
                                until: Any, *, guards_too: bool,
                                options: dict[str, Any] | None = None) -> Any:
    """Serve two replicas from :data:`KERNEL`, SIGKILL it (``guards_too``: and its guards),
    check what that leaves, then ``connect()`` and check it leaves nothing: no process, no
    pidfile ``pid_dir/pattern``, every port free. Returns a new ``serve()`` on the same ports.
    """
    kernel, served = start_kernel(tmp_path, "killed", base, options)
    guards = guard_pids(pid_dir, pattern)
    assert len(guards) == 2
    children = kill_kernel(kernel, guards, guards_too=guards_too)
    if guards_too:  # the leak this is about: orphans keep the ports...
        time.sleep(0.5)
        assert all(pid_alive(pid) for pid in children)
        assert not _ports.can_bind(base) and not _ports.can_bind(base + 1)
    else:           # ...whereas a guard alone stops its child when the kernel dies
        for pid in children:
            until(lambda pid=pid: not pid_alive(pid), 15, f"{pid} stopped by its guard")
    assert len(list(pid_dir.glob(pattern))) == 2  # nobody cleaned up yet

    jobslab.connect(**(options or {}))
    for pid in children:
        until(lambda pid=pid: not pid_alive(pid), 15, f"{pid} stopped")
    assert not list(pid_dir.glob(pattern))
    for port in (base, base + 1, *served["app_ports"]):
        until(lambda port=port: _ports.can_bind(port), 10, f"port {port} free")
    return jobslab.serve(make_app(), app_id="killed", replicas=2, dapr_http_port=base)


@pytest.mark.parametrize("guards_too", [False, True], ids=["kernel-killed", "guards-killed-too"])
def test_a_killed_kernels_daprds_are_stopped_by_the_next_connect(
        selfhosted: Fakes, ports: dict[str, int], spare_ports: list[int], tmp_path: Path,
        until: Any, guards_too: bool) -> None:
    """A kernel SIGKILLed: its guards stop their daprd at once; should the guards die too,
    the orphaned daprds hold their ports until the next connect() stops them (pidfiles)."""
    healthz_port, metrics_port = spare_ports
    options = {"scheduler_healthz_port": healthz_port, "scheduler_metrics_port": metrics_port}
    handle = serve_after_a_killed_kernel(
        tmp_path, ports["dapr_http_port"], Path(os.environ["JOBSLAB_HOME"]) / "selfhosted",
        "daprd-*.json", until, guards_too=guards_too, options=options)
    assert all(r.running for r in handle.replicas)  # the next notebook serves at once
    handle.stop()
