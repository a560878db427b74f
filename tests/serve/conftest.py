"""Fixtures for jobslab.serve tests: a private state dir and free ports per test, and a
clean-up that leaves no process behind (it stops whatever the state dir's pidfiles name)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobslab import ports as _ports


def _kill_guards(state: Path) -> None:
    for pidfile in (state / "serve").glob("sidecar-*.json"):
        try:
            pid = int(json.loads(pidfile.read_text())["pid"])
            os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError, KeyError):
            pass


@pytest.fixture
def state_dir(tmp_path, monkeypatch) -> Path:
    """A private JOBSLAB_HOME; everything started under it is stopped afterwards."""
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("JOBSLAB_HOME", str(state))
    monkeypatch.delenv("JOBSLAB_BACKEND", raising=False)
    yield state
    from jobslab.hosting import _serve

    _serve.stop_all()
    _kill_guards(state)
    subprocess.run([sys.executable, "-m", "jobslab", "down", "--state-dir", str(state)],
                   capture_output=True, timeout=60, check=False)


@pytest.fixture
def ports() -> dict[str, int]:
    """Free ports: a scheduler port, a base Dapr HTTP port with room for 3 replicas (+10 for
    the busy-port case), and one to hold busy. (The dict is also a notebook's parameters.)"""
    for _ in range(50):
        sched, busy = _ports.free_ports(2)
        base = _ports.free_ports(1)[0]
        wanted = [base + i for i in (0, 1, 2, 10)]
        if all(p < 65536 and _ports.can_bind(p) for p in wanted) and not {sched, busy} & set(
                wanted):
            return {"scheduler_port": sched, "dapr_http_port": base, "busy_port": busy}
    pytest.fail("could not find free ports")


@pytest.fixture
def spare_ports(ports) -> list[int]:
    """Two more free ports, distinct from every port :func:`ports` promised (the OS only knows
    about bound ports, so picking them independently could hand back a promised one)."""
    promised = {ports["scheduler_port"], ports["busy_port"],
                *(ports["dapr_http_port"] + i for i in range(11))}
    return _ports.free_ports(2, exclude=promised)
