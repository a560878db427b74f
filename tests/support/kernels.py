"""A handler app and a notebook kernel that gets killed, for the ``serve()`` backend tests
(tests/serve/test_backends_selfhosted.py and test_backends_kind.py run the same scenario)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
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
from jobslab import ports as _ports
from jobslab.processes import pid_alive
from support.waiting import wait_until


def make_app() -> FastAPI:
    """A handler app: every job trigger answers ``{"ok": true}``; ``GET /healthz`` too."""
    app = FastAPI()

    @app.post("/job/{name}")
    async def on_job(name: str, request: Request) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def pid_of(pidfile: Path) -> int:
    return int(json.loads(pidfile.read_text())["pid"])


def guard_pids(pid_dir: Path, pattern: str) -> list[int]:
    return [pid_of(p) for p in sorted(pid_dir.glob(pattern))]


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
    with contextlib.suppress(AssertionError):  # a time-out is reported below, with the log
        wait_until(lambda: served.exists() or kernel.poll() is not None, 90,
                   "the kernel to serve", interval=0.1)
    if not served.exists():
        kernel.kill()
        kernel.wait(10)
        pytest.fail(f"the kernel did not serve: {log.read_text(errors='replace')[-3000:]}")
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


def serve_after_a_killed_kernel(tmp_path: Path, base: int, pid_dir: Path, pattern: str, *,
                                guards_too: bool,
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
            wait_until(lambda pid=pid: not pid_alive(pid), 15, f"{pid} stopped by its guard")
    assert len(list(pid_dir.glob(pattern))) == 2  # nobody cleaned up yet

    jobslab.connect(**(options or {}))
    for pid in children:
        wait_until(lambda pid=pid: not pid_alive(pid), 15, f"{pid} stopped")
    assert not list(pid_dir.glob(pattern))
    for port in (base, base + 1, *served["app_ports"]):
        wait_until(lambda port=port: _ports.can_bind(port), 10, f"port {port} free")
    return jobslab.serve(make_app(), app_id="killed", replicas=2, dapr_http_port=base)


def restart_with_app_port_taken(handle: Any, every: str, repeats: int) -> None:
    """Stop replica 1 of ``handle``, hold its (OS-picked) app port, start it again: it must
    run on a new app port, its sidecar report that port, and ``repeats`` ticks of a job
    every ``every`` reach both replicas."""
    from jobslab import jobs

    replica = handle.replicas[1]
    old = replica.app_port
    replica.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", old))
        squatter.listen()
        replica.start()
        assert replica.running and replica.app_port != old
        meta = httpx.get(f"http://127.0.0.1:{replica.dapr_http_port}/v1.0/metadata").json()
        assert meta["appConnectionProperties"]["port"] == replica.app_port
        jobs.schedule("moved", every, repeats=repeats, port=handle.dapr_http_port)
        moved = handle.wait_for(repeats, job="moved", timeout=30)
        assert set(moved["replica"]) == {0, 1}
