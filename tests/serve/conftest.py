"""Fixtures for jobslab.serve tests: a private state dir and free ports per test, and a
clean-up that leaves no process behind (it stops whatever the state dir's pidfiles name)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.ports import lease


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


#: Offsets in the test's block of ports: Dapr HTTP ports of replicas 0-2, the Dapr HTTP port
#: of the busy-port case, the Scheduler, the port held busy, two spares.
REPLICAS, BUSY_CASE, SCHEDULER, BUSY, SPARES = (0, 1, 2), 5, 6, 7, (8, 9)


@pytest.fixture
def ports() -> Iterator[dict[str, int]]:
    """A block of ports leased for the test (support.ports says why): a Scheduler port, a
    base Dapr HTTP port with room for 3 replicas (and ``+5`` for the busy-port case), and one
    to hold busy. (The dict is also a notebook's parameters.)"""
    with lease() as block:
        base = block.base
        yield {"scheduler_port": base + SCHEDULER, "dapr_http_port": base + REPLICAS[0],
               "busy_port": base + BUSY}


@pytest.fixture
def spare_ports(ports: dict[str, int]) -> list[int]:
    """Two more ports of the test's block, distinct from every port :func:`ports` promised."""
    return [ports["dapr_http_port"] + offset for offset in SPARES]
