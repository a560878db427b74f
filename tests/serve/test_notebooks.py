"""Real notebooks in a real kernel (papermill and nbval), against the real local stand-in.

Hosting handlers from a notebook (docs/serve-api.md), and delivery to several replicas: each
trigger goes to one connected replica, spread across them (docs/dapr-behaviour.md#delivery).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", [
    "local", pytest.param("selfhosted", marks=pytest.mark.realdapr)])
def test_three_replicas_rerun_busy_port_and_stopped_replica(state_dir, ports, tmp_path,
                                                            monkeypatch, backend):
    """6 ticks of `@every 1s` spread over 3 replicas; re-running the serve cell replaces the
    servers; a busy port names its holder; a stopped replica's share goes to the others —
    on the stand-in and on real Dapr self-hosted."""
    monkeypatch.setenv("JOBSLAB_BACKEND", backend)
    out = tmp_path / "three-replicas.out.ipynb"
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / "three-replicas.ipynb"), str(out), parameters=ports,
            kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
            execution_timeout=180, request_save_on_cell_execute=False)
    finally:
        if backend == "selfhosted":
            from jobslab.selfhosted import SelfHostedBackend

            SelfHostedBackend(state_dir=state_dir, scheduler_port=ports["scheduler_port"]).stop()


def test_three_replicas_under_nbval(state_dir, ports, tmp_path):
    """The same notebook under nbval (how `make test` runs notebooks), ports via environment."""
    source = (NOTEBOOKS / "three-replicas.ipynb").read_text()
    for name, value in ports.items():
        default = {"scheduler_port": "50006", "dapr_http_port": "3500", "busy_port": "0"}[name]
        source = source.replace(f"{name} = {default}", f"{name} = {value}", 1)
    notebook = tmp_path / "three-replicas.ipynb"
    notebook.write_text(source)
    env = {**os.environ, "JOBSLAB_HOME": str(state_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", "--nbval-cell-timeout=180", "-q", str(notebook)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=400, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
