"""Fixtures for the offline cluster tests: recording fakes of the external tools on PATH.

Nothing here touches a real network, a real Docker or a real cluster: the runner's PATH holds
only the fakes' directory.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jobslab.cluster import Runner

FAKE_TOOL = Path(__file__).parent / "fakes" / "fake_tool.py"
TOOLS = ("docker", "kind", "kubectl", "helm", "dapr", "daprd", "scheduler")


def default_state() -> dict[str, Any]:
    return {
        "docker_running": True,
        "versions": {"docker": "28.3.0", "kind": "v0.30.0", "kubectl": "v1.34.1",
                     "helm": "v3.18.5", "dapr": "1.18.0", "daprd": "1.18.3",
                     "scheduler": "1.18.3"},
        "clusters": [],
        "releases": {},
        "deployments": {},
        "no_sidecar": [],
        "host_docker_internal": "",
        "gateway": "172.18.0.1",
        "default_storage_class": True,
        "fail": [],
    }


@dataclass
class Fakes:
    """The fake tools' directory, their shared state and what they recorded."""

    bin: Path
    state_file: Path
    record_file: Path
    env: dict[str, str]

    def runner(self) -> Runner:
        return Runner(env=self.env)

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def update(self, **changes: Any) -> None:
        st = self.state
        st.update(changes)
        self.state_file.write_text(json.dumps(st))

    def fail(self, tool: str, *when: str, stderr: str = "", times: int = 1,
             partial: bool = False, rc: int = 1) -> None:
        """Make the next ``times`` calls of ``tool`` whose argv holds ``when`` fail."""
        rule = {"tool": tool, "when": list(when), "rc": rc, "times": times, "partial": partial,
                "stderr": stderr or f"fake {tool} {' '.join(when)} failed"}
        self.update(fail=[*self.state["fail"], rule])

    def remove(self, tool: str) -> None:
        (self.bin / tool).unlink()

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """Recorded argv lists (of one tool, or ``[tool, *argv]`` of all), in call order."""
        if not self.record_file.exists():
            return []
        rows = [json.loads(line) for line in self.record_file.read_text().splitlines()]
        if tool is None:
            return [[r["tool"], *r["argv"]] for r in rows]
        return [r["argv"] for r in rows if r["tool"] == tool]

    def stdin_of(self, tool: str, *when: str) -> list[str]:
        rows = [json.loads(line) for line in self.record_file.read_text().splitlines()]
        return [r["stdin"] for r in rows
                if r["tool"] == tool and all(w in r["argv"] for w in when)]

    def clear_record(self) -> None:
        self.record_file.write_text("")


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for tool in TOOLS:
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_TOOL}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    state_file = tmp_path / "fake-state.json"
    state_file.write_text(json.dumps(default_state()))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": str(bin_dir),
        "HOME": str(home),
        "FAKE_STATE": str(state_file),
        "FAKE_RECORD": str(tmp_path / "fake-record.jsonl"),
        "JOBSLAB_HOME": str(tmp_path / "state"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    return Fakes(bin_dir, state_file, Path(env["FAKE_RECORD"]), env)


def free_port_block(count: int) -> int:
    """A base port such that ``base .. base+count-1`` are free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count >= 65535:
            continue
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports found")
