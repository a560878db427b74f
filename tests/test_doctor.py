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
