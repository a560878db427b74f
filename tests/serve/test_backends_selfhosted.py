"""``JOBSLAB_BACKEND=selfhosted`` end to end, without Dapr binaries.

Fake ``daprd`` and ``scheduler`` executables in a fake ``~/.dapr/bin`` (``SlimDapr`` of
tests/support/fakes.py) record their argv and translate the flags jobslab passes them
(docs/kind.md#the-self-hosted-path-no-docker-no-kubernetes) into the project's stand-in
(``python -m jobslab run ...`` / ``python -m jobslab scheduler serve ...``). Everything else is the
real code path: ``jobslab.connect()``, ``jobslab.serve()``, the adapter, ``SelfHostedBackend``,
uvicorn in threads, triggers over real HTTP.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

import jobslab
from jobslab import jobs, settings
from jobslab import ports as _ports
from jobslab.hosting import LocalOnlyError, _serve
from jobslab.processes import pid_alive
from support.fakes import SlimDapr, flag
from support.kernels import make_app, pid_of, serve_after_a_killed_kernel
from support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def selfhosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_dir: Path,
               ports: dict[str, int]) -> Any:
    """Fake ``dapr init --slim`` binaries in a fake HOME; JOBSLAB_BACKEND=selfhosted."""
    fakes = SlimDapr.install(tmp_path)
    monkeypatch.setenv("HOME", str(fakes.home))
    monkeypatch.setenv("FAKE_DAPR_RECORD", str(fakes.record))
    monkeypatch.setenv("JOBSLAB_BACKEND", "selfhosted")
    monkeypatch.setenv("JOBSLAB_SCHEDULER_PORT", str(ports["scheduler_port"]))
    monkeypatch.setattr(_serve, "_backend", None)
    monkeypatch.setattr(settings, "_connected", None)
    yield fakes
    backend = _serve._backend
    _serve.stop_all()
    if backend is not None and backend.name == "selfhosted":
        backend.impl.stop()  # type: ignore[attr-defined]


def test_serve_two_replicas_on_selfhosted_end_to_end(selfhosted: SlimDapr,
                                                     ports: dict[str, int],
                                                     spare_ports: list[int]) -> None:
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
        wait_until(lambda pid=pid: not pid_alive(pid), 10, f"daprd {pid} stopped")
    assert not list(state_of(handle).glob("daprd-*.json"))
    for port in (base, base + 1, *(r.app_port for r in handle.replicas)):
        wait_until(lambda port=port: _ports.can_bind(port), 10, f"port {port} free")

    # the scheduler outlives the handle (like `jobslab up`); stopping it leaves nothing
    sched_pid = pid_of(state_of(handle) / "scheduler.json")
    children = [c.pid for c in psutil.Process(sched_pid).children(recursive=True)]
    handle.backend.impl.stop()  # type: ignore[attr-defined]
    for pid in (sched_pid, *children):
        wait_until(lambda pid=pid: not pid_alive(pid), 10, f"scheduler process {pid} stopped")


def test_replica_stop_and_start_restarts_only_its_daprd(selfhosted: SlimDapr,
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


@pytest.mark.parametrize("guards_too", [False, True], ids=["kernel-killed", "guards-killed-too"])
def test_a_killed_kernels_daprds_are_stopped_by_the_next_connect(
        selfhosted: SlimDapr, ports: dict[str, int], spare_ports: list[int], tmp_path: Path,
        guards_too: bool) -> None:
    """A kernel SIGKILLed: its guards stop their daprd at once; should the guards die too,
    the orphaned daprds hold their ports until the next connect() stops them (pidfiles)."""
    healthz_port, metrics_port = spare_ports
    options = {"scheduler_healthz_port": healthz_port, "scheduler_metrics_port": metrics_port}
    handle = serve_after_a_killed_kernel(
        tmp_path, ports["dapr_http_port"], Path(os.environ["JOBSLAB_HOME"]) / "selfhosted",
        "daprd-*.json", guards_too=guards_too, options=options)
    assert all(r.running for r in handle.replicas)  # the next notebook serves at once
    handle.stop()
