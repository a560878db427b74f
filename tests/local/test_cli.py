"""The CLI as a subprocess: up/down/status idempotence, port-in-use, run -- CMD.

``jobslab scheduler ...`` has its own module, ``test_scheduler_cli.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jobslab.ports import accepts
from support.ports import free_port
from support.processes import jobslab
from support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_up_status_down_idempotent(tmp_path: Path) -> None:
    port = free_port()
    state = ["--state-dir", str(tmp_path)]
    try:
        first = jobslab("up", *state, "--scheduler-port", str(port))
        assert first.returncode == 0, first.stderr
        assert f"Scheduler started on 127.0.0.1:{port}" in first.stdout
        assert f"Log: {tmp_path / 'scheduler.log'}" in first.stdout
        again = jobslab("up", *state, "--scheduler-port", str(port))
        assert again.returncode == 0 and "already running" in again.stdout
        status = json.loads(jobslab("status", *state, "--json").stdout)
        (sched,) = status["processes"]
        assert sched["name"] == "scheduler" and sched["port"] == port
        assert "scheduler.log" in jobslab("status", *state).stdout
        listed = jobslab("scheduler", "list", *state)  # finds `up`'s port from its pidfile
        assert listed.returncode == 0, listed.stderr
        assert listed.stderr == '❌  No jobs found in namespace "default"\n'
    finally:
        down = jobslab("down", *state)
    assert down.returncode == 0 and "Stopped scheduler" in down.stdout
    assert "Nothing running" in jobslab("down", *state).stdout
    assert "Nothing running" in jobslab("status", *state).stdout
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_port_in_use_is_one_line_naming_the_holder(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        out = jobslab("up", "--state-dir", str(tmp_path), "--scheduler-port", str(port))
        assert out.returncode == 1
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"port {port}" in lines[0] and f"pid {os.getpid()}" in lines[0]
        out = jobslab("run", "--app-id", "a", "--dapr-http-port", str(port),
                      "--state-dir", str(tmp_path))
        assert out.returncode == 1 and f"port {port}" in out.stderr
        assert "--dapr-http-port" in out.stderr


def test_run_exits_with_the_app(tmp_path: Path) -> None:
    """`jobslab run -- CMD` exits when the app exits, with its code, like `dapr run`."""
    out = jobslab("run", "--app-id", "a", "--dapr-http-port", str(free_port()),
                  "--scheduler-host-address", f"127.0.0.1:{free_port()}",
                  "--state-dir", str(tmp_path), "--",
                  sys.executable, "-c", "import sys; sys.exit(3)")
    assert out.returncode == 3
    assert "Log:" in out.stdout


def test_run_forwards_signals_and_down_stops_sidecars(tmp_path: Path) -> None:
    app_port, http_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobslab", "run", "--app-id", "a", "--app-port", str(app_port),
         "--dapr-http-port", str(http_port), "--scheduler-host-address",
         f"127.0.0.1:{free_port()}", "--state-dir", str(tmp_path), "--",
         sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(app_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def ready() -> bool:
            try:
                # outbound: the API is up (healthz waits for a Scheduler, and there is none)
                url = f"http://127.0.0.1:{http_port}/v1.0/healthz/outbound"
                return httpx.get(url).status_code == 204
            except httpx.HTTPError:
                return False

        wait_until(ready, what="the sidecar")
        wait_until(lambda: accepts(app_port), what="the app")
        status = json.loads(jobslab("status", "--state-dir", str(tmp_path), "--json").stdout)
        assert [p["port"] for p in status["processes"]] == [http_port]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) in (0, 143, 128 + signal.SIGTERM)
        wait_until(lambda: not accepts(app_port), what="the app to stop")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_reset_stops_everything_recorded_and_forgets_the_jobs(tmp_path: Path) -> None:
    """`jobslab reset`: one command between two workshop sessions. It stops the Scheduler,
    a guarded sidecar-like process (a group leader) and a plain recorded process, deletes the
    store, logs and pidfiles — and leaves files it does not know alone."""
    from jobslab.processes import pidfiles, spawn

    port = free_port()
    state = ["--state-dir", str(tmp_path)]
    assert jobslab("up", *state, "--scheduler-port", str(port)).returncode == 0
    assert (tmp_path / "scheduler.db").exists()
    guarded = spawn(["/bin/sleep", "60"], tmp_path / "serve" / "sidecar-1.json")
    plain = subprocess.Popen(["/bin/sleep", "60"])  # in our process group: not a leader
    pidfiles.write_pidfile(tmp_path / "selfhosted" / "daprd-app-0.json", plain.pid)
    (tmp_path / "notes.txt").write_text("the presenter's own file")
    try:
        out = jobslab("reset", *state, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "Stopped scheduler" in out.stdout and "no job is left" in out.stdout
        assert guarded.wait(10) is not None and plain.wait(10) is not None
        assert not accepts(port)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
        again = jobslab("reset", *state)
        assert again.returncode == 0 and "nothing was running" in again.stdout
    finally:
        for proc in (guarded, plain):
            if proc.poll() is None:
                proc.kill()
        jobslab("down", *state)
