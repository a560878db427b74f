"""``JOBSLAB_BACKEND=kind`` through ``jobslab.connect()``/``jobslab.serve()`` against fakes.

The recording fakes of tests/support/fakes.py stand in for docker, kind and kubectl, with pods
turned on: each applied Deployment gets a stand-in sidecar that dials the handler at the
``dapr.io/app-channel-address`` of its manifest, and ``kubectl port-forward`` relays to it.
The fake node's gateway is this machine's non-loopback IP, so a handler bound to 127.0.0.1
would never be reached: the test checks the binding by delivery, not only by attribute.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import jobslab
from jobslab import jobs, settings
from jobslab import ports as _ports
from jobslab.hosting import LocalOnlyError, ServeError, _serve
from jobslab.processes import pid_alive
from support.components import cron_component
from support.fakes import Fakes
from support.kernels import (
    guard_pids,
    kill_kernel,
    make_app,
    serve_after_a_killed_kernel,
    start_kernel,
)
from support.waiting import wait_until

pytestmark = pytest.mark.slow

CTX = "kind-dapr-jobs"


def host_ip() -> str:
    """This machine's outbound IPv4 address (no packet is sent), else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _kill_pods(fakes: Fakes) -> None:
    for deployment in fakes.state["deployments"].values():
        pid = (deployment.get("pod") or {}).get("pid")
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_dir: Path,
         ports: dict[str, int]) -> Iterator[Fakes]:
    """A fake kind cluster with Dapr deployed and pods on; JOBSLAB_BACKEND=kind."""
    fakes = Fakes.install(
        tmp_path, dict(os.environ), clusters=["dapr-jobs"], gateway=host_ip(),
        releases={CTX: {"name": "dapr", "namespace": "dapr-system", "status": "deployed",
                        "chart": "dapr-1.18.3", "app_version": "1.18.3"}},
        pods={"scheduler": f"127.0.0.1:{ports['scheduler_port']}"})
    # the in-cluster Scheduler: the stand-in's (stopped by state_dir's `jobslab down`)
    subprocess.run([sys.executable, "-m", "jobslab", "up", "--state-dir", str(state_dir),
                    "--scheduler-port", str(ports["scheduler_port"])],
                   check=True, capture_output=True, timeout=60)
    for name in ("PATH", "FAKE_STATE", "FAKE_RECORD"):
        monkeypatch.setenv(name, fakes.env[name])
    monkeypatch.setenv("JOBSLAB_BACKEND", "kind")
    monkeypatch.setattr(_serve, "_backend", None)
    monkeypatch.setattr(settings, "_connected", None)
    yield fakes
    backend = _serve._backend
    try:
        _serve.stop_all()
        if backend is not None and backend.name == "kind":
            backend.close()  # type: ignore[attr-defined]
    finally:
        _kill_pods(fakes)


def applied_docs(fakes: Fakes) -> list[dict[str, Any]]:
    return [doc for text in fakes.stdin_of("kubectl", "apply") for doc in yaml.safe_load_all(text)]


def test_serve_on_kind_binds_all_interfaces_deploys_forwards_and_undeploys(
        kind: Fakes, ports: dict[str, int]) -> None:
    base = ports["dapr_http_port"]
    conn = jobslab.connect()
    assert conn.backend == "kind"
    assert conn.details["kube context"] == CTX
    assert conn.details["app channel address"] == host_ip()
    assert not conn.supports("job_list") and not conn.supports("scheduler_restart")

    handle = jobslab.serve(make_app(), app_id="kind-lab", replicas=2, dapr_http_port=base)
    assert handle.app_host == "0.0.0.0" and "app servers on 0.0.0.0" in repr(handle)
    assert all(r.server is not None and r.server.host == "0.0.0.0" for r in handle.replicas)
    assert [r.dapr_http_port for r in handle.replicas] == [base, base + 1]

    # one Deployment per replica, pointed at this replica's uvicorn on the host's IP
    docs = applied_docs(kind)
    assert [d["metadata"]["name"] for d in docs] == ["kind-lab-0", "kind-lab-1"]
    for replica, doc in zip(handle.replicas, docs, strict=True):
        ann = doc["spec"]["template"]["metadata"]["annotations"]
        assert ann["dapr.io/app-id"] == "kind-lab"
        assert ann["dapr.io/app-port"] == str(replica.app_port)
        assert ann["dapr.io/app-channel-address"] == host_ip()
    # uvicorn first, then the Deployments: each handler answered when its pod was applied
    pods = {name: d["pod"] for name, d in kind.state["deployments"].items()}
    assert all(pod["app_listening_at_apply"] for pod in pods.values())
    # replica i's sidecar is forwarded to base + i, and answers there
    forwards = [c for c in kind.calls("kubectl") if "port-forward" in c]
    assert [c[-2:] for c in forwards] == [
        [f"deployment/kind-lab-{i}", f"{base + i}:3500"] for i in range(2)]
    for replica in handle.replicas:
        url = f"http://127.0.0.1:{replica.dapr_http_port}/v1.0/healthz"
        assert httpx.get(url).status_code == 204

    # schedule through replica 0's forwarded sidecar; triggers reach both handlers
    jobs.schedule("tick", "@every 1s", repeats=4, port=handle.dapr_http_port)
    frame = handle.wait_for(4, job="tick", timeout=30)
    assert len(frame) == 4 and set(frame["replica"]) == {0, 1}

    # local-only features say so, with what to use instead
    assert not handle.supports_scheduler_restart
    with pytest.raises(LocalOnlyError, match=r"dapr scheduler list -k"):
        jobs.list_jobs(port=handle.dapr_http_port)
    with pytest.raises(LocalOnlyError, match=r"rollout restart statefulset/dapr-scheduler"):
        handle.restart_scheduler()

    handle.stop()
    assert kind.state["deployments"] == {}
    delete = [c for c in kind.calls("kubectl") if "delete" in c][-1]
    assert "app.kubernetes.io/instance=kind-lab,app.kubernetes.io/managed-by=jobslab" in delete
    for pod in pods.values():
        wait_until(lambda pod=pod: not pid_alive(pod["pid"]), 10, f"pod {pod['pid']} stopped")
    for port in (base, base + 1, *(r.app_port for r in handle.replicas)):
        wait_until(lambda port=port: _ports.can_bind(port), 10, f"port {port} free")


def test_a_stopped_replica_is_redeployed_alone(kind: Fakes, ports: dict[str, int]) -> None:
    base = ports["dapr_http_port"]
    handle = jobslab.serve(make_app(), app_id="kind-two", replicas=2, dapr_http_port=base)
    kind.clear_record()
    handle.replicas[1].stop()
    assert set(kind.state["deployments"]) == {"kind-two-0"}
    assert handle.replicas[0].running and not handle.replicas[1].running
    assert _ports.can_bind(base + 1)
    handle.replicas[1].start()
    assert handle.replicas[1].running
    assert [d["metadata"]["name"] for d in applied_docs(kind)] == ["kind-two-1"]
    forwards = [c[-2:] for c in kind.calls("kubectl") if "port-forward" in c]
    assert forwards == [["deployment/kind-two-1", f"{base + 1}:3500"]]  # replica 0 untouched
    assert httpx.get(f"http://127.0.0.1:{base + 1}/v1.0/healthz").status_code == 204
    handle.stop()
    assert kind.state["deployments"] == {}


def test_list_jobs_is_local_only_before_any_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBSLAB_BACKEND", "kind")
    monkeypatch.setattr(_serve, "_backend", None)
    monkeypatch.setattr(settings, "_connected", None)
    with pytest.raises(LocalOnlyError) as err:
        jobs.list_jobs(port=_ports.free_ports(1)[0])  # raised before any request
    assert 'jobslab.connect().supports("job_list")' in str(err.value)


def test_connect_without_a_cluster_says_to_run_cluster_up(kind: Fakes) -> None:
    kind.update(clusters=[])
    with pytest.raises(ServeError, match="jobslab cluster up"):
        jobslab.connect()


@pytest.mark.parametrize("guards_too", [False, True], ids=["kernel-killed", "guards-killed-too"])
def test_a_killed_kernels_port_forwards_are_stopped_by_the_next_connect(
        kind: Fakes, ports: dict[str, int], tmp_path: Path, guards_too: bool) -> None:
    """The issue: after a kernel is killed, orphaned `kubectl port-forward`s kept 3500+i and
    the next serve() failed with "port in use". Now each forward runs under a guard (which
    stops it when the kernel dies) and is recorded in a pidfile; should the guards die too,
    the next connect() stops the orphans."""
    handle = serve_after_a_killed_kernel(
        tmp_path, ports["dapr_http_port"], Path(os.environ["JOBSLAB_HOME"]) / "kind",
        "port-forward-*.json", guards_too=guards_too)
    # the next notebook serves on the same ports (the cluster kept the Deployments)
    jobs.schedule("after", due_time="1s", port=handle.dapr_http_port)
    handle.wait_for(1, job="after", timeout=30)
    handle.stop()


def test_jobslab_cluster_forward_stop_cleans_up_from_a_terminal(
        kind: Fakes, ports: dict[str, int], tmp_path: Path) -> None:
    base = ports["dapr_http_port"]
    kernel, _ = start_kernel(tmp_path, "killed", base)
    pid_dir = Path(os.environ["JOBSLAB_HOME"]) / "kind"
    forwards = kill_kernel(kernel, guard_pids(pid_dir, "port-forward-*.json"), guards_too=True)
    assert not _ports.can_bind(base)
    done = subprocess.run([sys.executable, "-m", "jobslab", "cluster", "forward", "--stop"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"stopped the port-forward on 127.0.0.1:{base} " in done.stdout
    for pid in forwards:
        wait_until(lambda pid=pid: not pid_alive(pid), 15, f"port-forward {pid} stopped")
    assert _ports.can_bind(base) and _ports.can_bind(base + 1)
    again = subprocess.run([sys.executable, "-m", "jobslab", "cluster", "forward", "--stop"],
                           capture_output=True, text=True, timeout=60)
    assert "no port-forwards recorded" in again.stdout


def test_cron_binding_fires_on_every_replica_on_kind(
        kind: Fakes, ports: dict[str, int], tmp_path: Path) -> None:
    """Cron bindings on kind: serve(resources_path=...) applies the component, scoped to the
    app, before the Deployments; each sidecar loads it at start and fires it."""
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "heartbeat.yaml").write_text(cron_component("heartbeat"), encoding="utf-8")
    (resources / "other.yaml").write_text(cron_component("other-beat"), encoding="utf-8")
    app = make_app()

    @app.post("/heartbeat")
    async def heartbeat() -> dict[str, bool]:
        return {"ok": True}

    handle = jobslab.serve(app, app_id="cron-kind", replicas=2,
                           dapr_http_port=ports["dapr_http_port"], resources_path=resources)
    # applied scoped to the app, before the Deployments, so every pod loaded it at start
    docs = applied_docs(kind)
    assert [d["kind"] for d in docs] == ["Component", "Component", "Deployment", "Deployment"]
    assert all(d["scopes"] == ["cron-kind"] for d in docs[:2])
    pods = [d["pod"] for d in kind.state["deployments"].values()]
    assert [p["components"] for p in pods] == [["heartbeat", "other-beat"]] * 2

    def fired() -> dict[int, int]:
        frame = handle.triggers
        return frame[frame["route"] == "/heartbeat"].groupby("replica").size().to_dict()

    wait_until(lambda: min(fired().get(r, 0) for r in (0, 1)) >= 2, 30,
               "two binding fires on each replica")
    handle.stop()
    assert kind.state["components"] == {} and kind.state["deployments"] == {}

