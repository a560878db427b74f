"""`jobslab doctor`: every check names what it found and how to fix what is wrong."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from jobslab import doctor


def test_all_checks_pass_in_the_test_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("JOBSLAB_BACKEND", raising=False)
    checks = doctor.run_checks(str(tmp_path))
    bad = [c.line() for c in checks if not c.ok]
    assert not bad, bad
    names = {c.name for c in checks}
    assert {"python", "jobslab", "pandas", "jupyter kernel", "state dir", "backend"} <= names


def test_unknown_backend_is_reported_with_the_choices(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JOBSLAB_BACKEND", "minikube")
    check = next(c for c in doctor.run_checks(str(tmp_path)) if c.name == "backend")
    assert not check.ok
    assert "local, kind, selfhosted" in check.fix


def test_kind_backend_lists_each_missing_tool(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JOBSLAB_BACKEND", "kind")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    checks = {c.name: c for c in doctor.run_checks(str(tmp_path))}
    for tool in ("docker", "kind", "kubectl", "helm"):
        assert not checks[tool].ok and checks[tool].detail == "not on PATH"


def test_a_busy_port_is_reported_with_its_holder(monkeypatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        monkeypatch.setenv("DAPR_HTTP_PORT", str(port))
        check = next(c for c in doctor.run_checks() if c.name == f"port {port}")
        assert "in use by pid" in check.detail and "this Python process" in check.detail
    check = next(c for c in doctor.run_checks() if c.name == f"port {port}")
    assert check.detail == "Dapr HTTP port (first sidecar), from $DAPR_HTTP_PORT: free"


def test_the_preflight_checks_the_ports_connect_will_use(monkeypatch) -> None:
    """The ports come from $DAPR_HTTP_PORT / $JOBSLAB_SCHEDULER_PORT, as connect()'s do."""
    monkeypatch.delenv("DAPR_HTTP_PORT", raising=False)
    monkeypatch.delenv("JOBSLAB_SCHEDULER_PORT", raising=False)
    assert set(doctor.configured_ports()) == {3500, 50006}
    monkeypatch.setenv("DAPR_HTTP_PORT", "43500")
    monkeypatch.setenv("JOBSLAB_SCHEDULER_PORT", "43509")
    names = {c.name for c in doctor.run_checks()}
    assert {"port 43500", "port 43509"} <= names and "port 3500" not in names
    assert "port 50006" not in names


def test_unwritable_state_dir_says_what_to_do(tmp_path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    try:
        check = doctor._state(str(target))
        if check.ok:  # root ignores permission bits
            pytest.skip("running as root: permission bits are not enforced")
        assert "JOBSLAB_HOME" in check.fix
    finally:
        target.chmod(0o700)


@pytest.mark.slow  # runs `python -m jobslab doctor` in a process of its own
def test_cli_exit_code_reflects_problems(tmp_path) -> None:
    env = {"PATH": "", "JOBSLAB_BACKEND": "nope", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "jobslab", "doctor", "--state-dir",
                           str(tmp_path)], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "[FIX] backend" in proc.stdout


@pytest.mark.parametrize(("backend", "says"), [
    (None, "on the local backend (the local stand-in for daprd + Scheduler, Dapr HTTP port "
           "3500, Scheduler port 50006)."),
    ("selfhosted", "on the selfhosted backend (real daprd + scheduler 1.18.3"),
    ("kind", "on the kind backend (real Dapr 1.18.3 in the kind cluster"),
    ("nope", "JOBSLAB_BACKEND='nope' is not a backend"),
])
def test_make_lab_says_which_notebook_opens_on_which_backend(monkeypatch, backend, says) -> None:
    for name in ("JOBSLAB_BACKEND", "DAPR_HTTP_PORT", "JOBSLAB_SCHEDULER_PORT"):
        monkeypatch.delenv(name, raising=False)
    if backend:
        monkeypatch.setenv("JOBSLAB_BACKEND", backend)
    line = doctor.banner("notebooks/00-index.ipynb")
    assert line.startswith("Dapr Jobs Lab: opening notebooks/00-index.ipynb") and says in line
    assert "\n" not in line


def test_make_lab_installs_the_jupyterlab_overrides_and_prints_the_banner_first() -> None:
    """No news pop-up over a workshop's first screen: the overrides file sets JupyterLab's
    own notification settings to values its schema allows, and `make lab` copies it into the
    environment's share/jupyter/lab/settings before starting JupyterLab."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    overrides = json.loads((root / "jupyter" / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    makefile = (root / "Makefile").read_text()
    assert "LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json" in makefile
    lab = makefile.split("\nlab: ", 1)[1].split("\n\n", 1)[0]
    assert "$(LAB_OVERRIDES)" in lab.splitlines()[0]
    assert lab.index("lab-banner") < lab.index("jupyter lab")
