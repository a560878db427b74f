"""``KindBackend`` (what ``jobslab.serve`` uses with JOBSLAB_BACKEND=kind) against fakes:
host address, replica Deployments, rollout, sidecar check, port-forward watchdog
(docs/kind.md#how-a-trigger-reaches-a-handler-on-the-host).
"""

from __future__ import annotations

import json

import pytest

from jobslab.cluster import (
    ClusterError,
    KindBackend,
    KindCluster,
    PortForward,
    PortForwardManager,
)
from jobslab.cluster.host import host_address
from jobslab.cluster.manifests import COMPONENTS_ANNOTATION
from jobslab.errors import BackendError
from jobslab.ports import accepts as port_accepts
from support.components import CRON
from support.fakes import Fakes
from support.ports import free_port_block
from support.waiting import wait_until

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits

CTX = "kind-dapr-jobs"


@pytest.fixture
def up(fakes: Fakes) -> Fakes:
    """A cluster with Dapr deployed, as `cluster up` leaves it (test_kind_up.py checks that)."""
    fakes.update(clusters=["dapr-jobs"], releases={CTX: {
        "name": "dapr", "namespace": "dapr-system", "status": "deployed",
        "chart": "dapr-1.18.3", "app_version": "1.18.3"}})
    return fakes


def test_the_up_fixture_matches_what_cluster_up_leaves(fakes: Fakes) -> None:
    KindCluster(runner=fakes.runner(), progress=lambda *a: None).up()
    assert fakes.state["clusters"] == ["dapr-jobs"]
    assert fakes.state["releases"][CTX]["chart"] == "dapr-1.18.3"
    assert fakes.state["releases"][CTX]["status"] == "deployed"


@pytest.fixture
def backend(up: Fakes, tmp_path):  # type: ignore[no-untyped-def]
    b = KindBackend(runner=up.runner(), state_dir=tmp_path / "state",
                    base_http_port=free_port_block(3), watchdog_interval=0.05)
    yield b
    b.close()


def test_linux_host_address_is_the_kind_gateway(up: Fakes) -> None:
    assert host_address(up.runner(), "dapr-jobs") == "172.18.0.1"
    execs = up.calls("docker")
    assert execs[0][:3] == ["exec", "dapr-jobs-control-plane", "sh"]
    assert "getent ahostsv4 host.docker.internal" in execs[0][-1]
    assert execs[1] == ["exec", "dapr-jobs-control-plane", "ip", "-4", "route", "show",
                        "default"]


def test_docker_desktop_host_address_is_host_docker_internal(up: Fakes) -> None:
    up.update(host_docker_internal="192.168.65.254")
    assert host_address(up.runner(), "dapr-jobs") == "192.168.65.254"
    assert len(up.calls("docker")) == 1


def test_loopback_host_docker_internal_falls_back_to_the_gateway(up: Fakes) -> None:
    up.update(host_docker_internal="127.0.0.1", gateway="172.19.0.1")
    assert host_address(up.runner(), "dapr-jobs") == "172.19.0.1"


def test_host_address_without_a_cluster_says_what_to_do(fakes: Fakes) -> None:
    with pytest.raises(BackendError, match="jobslab cluster up"):
        host_address(fakes.runner(), "dapr-jobs")


def test_ensure_without_a_cluster_tells_to_run_cluster_up(fakes: Fakes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend = KindBackend(runner=fakes.runner(), state_dir=tmp_path)
    with pytest.raises(ClusterError, match=r"no kind cluster dapr-jobs; run `jobslab cluster up`"):
        backend.deploy("jobs-lab", 1, [8000])
    assert not [c for c in fakes.calls("kind") if c[:1] == ["create"]]  # never implicit


def test_ensure_with_a_failed_release_tells_to_run_cluster_up(up: Fakes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    st = up.state
    st["releases"][CTX]["status"] = "failed"
    up.update(releases=st["releases"])
    with pytest.raises(ClusterError, match="Dapr is failed"):
        KindBackend(runner=up.runner(), state_dir=tmp_path).ensure()


def test_backend_capabilities_are_declared() -> None:
    assert KindBackend.supports_job_list is False
    assert KindBackend.supports_scheduler_restart is False
    assert KindBackend.handler_bind_host == "0.0.0.0"


def test_deploy_applies_one_deployment_per_replica_and_forwards_each_sidecar(
        up: Fakes, backend: KindBackend) -> None:
    ports = backend.deploy("jobs-lab", 3, [8000, 8001, 8002])
    base = backend.base_http_port
    assert ports == [base, base + 1, base + 2]
    assert all(port_accepts(p) for p in ports)
    applied = up.stdin_of("kubectl", "apply")
    assert len(applied) == 1
    assert applied[0].count("kind: Deployment") == 3
    assert "dapr.io/app-channel-address: 172.18.0.1" in applied[0]
    assert set(up.state["deployments"]) == {"jobs-lab-0", "jobs-lab-1", "jobs-lab-2"}
    kubectl = up.calls("kubectl")
    verbs = [c[2] for c in kubectl]
    # injector checked first, then apply, then each rollout, then the port-forwards
    assert verbs.index("rollout") < verbs.index("apply") < verbs.index("port-forward")
    rollouts = [c[4] for c in kubectl if c[2:4] == ["rollout", "status"]]
    assert rollouts == ["deployment/dapr-sidecar-injector", "deployment/jobs-lab-0",
                        "deployment/jobs-lab-1", "deployment/jobs-lab-2"]
    forwards = [c for c in kubectl if c[2] == "port-forward"]
    assert [c[-2:] for c in forwards] == [
        [f"deployment/jobs-lab-{i}", f"{base + i}:3500"] for i in range(3)]
    assert all(c[:2] == ["--context", CTX] and "127.0.0.1" in c for c in forwards)


def test_redeploy_with_fewer_replicas_removes_the_extra_ones(
        up: Fakes, backend: KindBackend) -> None:
    backend.deploy("jobs-lab", 3, [8000, 8001, 8002])
    ports = backend.deploy("jobs-lab", 1, [8000])
    assert ports == [backend.base_http_port]
    assert set(up.state["deployments"]) == {"jobs-lab-0"}
    assert not port_accepts(backend.base_http_port + 2)
    assert backend.sidecar_ports("jobs-lab") == ports


def test_undeploy_stops_forwards_and_deletes_by_label(up: Fakes, backend: KindBackend) -> None:
    ports = backend.deploy("jobs-lab", 2, [8000, 8001])
    backend.undeploy("jobs-lab")
    assert up.state["deployments"] == {}
    assert not any(port_accepts(p) for p in ports)
    delete = [c for c in up.calls("kubectl") if c[2] == "delete"][-1]
    assert "app.kubernetes.io/instance=jobs-lab,app.kubernetes.io/managed-by=jobslab" in delete


def test_pod_without_sidecar_is_restarted_once(up: Fakes, backend: KindBackend) -> None:
    """Applied before the injector was ready (docs/troubleshooting.md, problem 14)."""
    up.update(no_sidecar=["jobs-lab-0"])
    backend.deploy("jobs-lab", 1, [8000])
    assert ["--context", CTX, "rollout", "restart", "deployment/jobs-lab-0", "--namespace",
            "default"] in up.calls("kubectl")


def test_rollout_timeout_explains_the_host_handler_pitfall(
        up: Fakes, backend: KindBackend) -> None:
    up.fail("kubectl", "rollout", "status", "deployment/jobs-lab-0",
            stderr="error: timed out waiting for the condition")
    with pytest.raises(BackendError) as err:
        backend.deploy("jobs-lab", 1, [8000])
    text = str(err.value)
    assert "172.18.0.1:8000" in text and "0.0.0.0" in text and "problem 15" in text


def test_busy_local_port_is_a_clear_error(up: Fakes, backend: KindBackend) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", backend.base_http_port))
        busy.listen(1)
        with pytest.raises(ClusterError, match="already in use"):
            backend.deploy("jobs-lab", 1, [8000])


def test_watchdog_restarts_a_dying_port_forward(up: Fakes) -> None:
    """A port-forward dies when its pod is replaced; the manager starts it again."""
    up.update(port_forward={"die_times": 2, "die_after": 0.3})
    manager = PortForwardManager(up.runner(), interval=0.05)
    port = free_port_block(1)
    try:
        forward = manager.add(PortForward(up.runner(), "deployment/jobs-lab-0", port,
                                          context=CTX))
        wait_until(lambda: forward.restarts >= 2 and forward.alive and port_accepts(port),
                   timeout=15, what="two restarts")
        started = [c for c in up.calls("kubectl") if "port-forward" in c]
        assert len(started) == 3
        assert forward.alive and forward.restarts == 2
    finally:
        manager.stop()
    assert not forward.alive
    wait_until(lambda: not port_accepts(port), timeout=5, what="port released")


def test_port_forward_that_exits_at_once_reports_its_output(up: Fakes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    up.fail("kubectl", "port-forward", stderr="error: unable to forward port because pod is "
            "not running. Current status=Pending")
    forward = PortForward(up.runner(), "deployment/jobs-lab-0", free_port_block(1),
                          context=CTX, log_path=tmp_path / "pf.log")
    with pytest.raises(ClusterError, match="pod is not running"):
        forward.start()


# ---- components (serve(..., resources_path=...) on kind) -----------------------------------
def cron(name: str) -> str:
    return CRON.replace("name: heartbeat", f"name: {name}")


SELECTOR = "app.kubernetes.io/instance=jobs-lab,app.kubernetes.io/managed-by=jobslab"


def resources(tmp_path, *names: str):  # type: ignore[no-untyped-def]
    folder = tmp_path / "resources"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for name in names:
        (folder / f"{name}.yaml").write_text(cron(name), encoding="utf-8")
    return folder


def test_components_are_applied_scoped_before_the_deployments_and_deleted_after(
        up: Fakes, backend: KindBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    backend.resources_path = resources(tmp_path, "heartbeat")
    backend.deploy("jobs-lab", 2, [8000, 8001])
    applies = up.stdin_of("kubectl", "apply")
    assert len(applies) == 2
    [component] = yaml.safe_load_all(applies[0])          # first the component...
    assert component["kind"] == "Component" and component["scopes"] == ["jobs-lab"]
    assert component["metadata"]["namespace"] == "default"
    deployments = list(yaml.safe_load_all(applies[1]))    # ...then the Deployments
    assert [d["kind"] for d in deployments] == ["Deployment", "Deployment"]
    marks = {d["spec"]["template"]["metadata"]["annotations"][COMPONENTS_ANNOTATION]
             for d in deployments}
    assert len(marks) == 1                                # new components -> new pods
    verbs = [c[2:4] for c in up.calls("kubectl")]
    assert verbs.index(["get", "components.dapr.io"]) < verbs.index(["apply", "-f"])
    assert set(up.state["components"]) == {"heartbeat"}

    backend.undeploy("jobs-lab")
    deletes = [c for c in up.calls("kubectl") if c[2] == "delete"]
    assert [c[3] for c in deletes[-2:]] == ["deployments", "components.dapr.io"]
    assert SELECTOR in deletes[-1]
    assert up.state["components"] == {} and up.state["deployments"] == {}


def test_components_the_app_no_longer_has_are_deleted(
        up: Fakes, backend: KindBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend.resources_path = resources(tmp_path, "heartbeat", "nightly")
    backend.deploy("jobs-lab", 1, [8000])
    assert set(up.state["components"]) == {"heartbeat", "nightly"}
    backend.resources_path = resources(tmp_path, "heartbeat")
    backend.deploy("jobs-lab", 1, [8000])
    assert set(up.state["components"]) == {"heartbeat"}
    backend.resources_path = None            # e.g. the cell run again without resources_path
    backend.deploy("jobs-lab", 1, [8000])
    assert up.state["components"] == {}
    delete = [c for c in up.calls("kubectl") if c[2] == "delete"][-1]
    assert delete[3] == "components.dapr.io" and SELECTOR in delete


def test_a_component_of_another_app_is_not_taken_over(
        up: Fakes, backend: KindBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend.resources_path = resources(tmp_path, "heartbeat")
    backend.deploy("other-app", 1, [8000])
    up.clear_record()
    with pytest.raises(ClusterError, match="already applied for app 'other-app'") as err:
        backend.deploy("jobs-lab", 1, [8001])
    assert "handle.stop()" in str(err.value)
    assert not up.stdin_of("kubectl", "apply")            # nothing applied
    assert up.state["components"]["heartbeat"]["doc"]["scopes"] == ["other-app"]


def test_a_malformed_component_changes_nothing_in_the_cluster(
        up: Fakes, backend: KindBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = resources(tmp_path, "heartbeat")
    (folder / "heartbeat.yaml").write_text(cron("heartbeat").replace(
        "@every 1s", "every second"), encoding="utf-8")
    backend.resources_path = folder
    with pytest.raises(ClusterError, match=r"heartbeat\.yaml: cron binding 'heartbeat'") as err:
        backend.deploy("jobs-lab", 1, [8000])
    assert "What to do: fix the file" in str(err.value)
    assert up.calls("kubectl") == []


def test_a_replica_started_alone_gets_the_components_once(
        up: Fakes, backend: KindBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend.resources_path = resources(tmp_path, "heartbeat")
    backend.deploy("jobs-lab", 2, [8000, 8001])
    backend.undeploy_replica("jobs-lab", 1)
    assert set(up.state["components"]) == {"heartbeat"}  # the other replica still uses it
    up.clear_record()
    backend.deploy_replica("jobs-lab", 1, 8001)
    assert [c[2] for c in up.calls("kubectl") if c[2] in ("apply", "get")] == ["apply", "get"]
    backend.undeploy("jobs-lab")
    backend.deploy_replica("jobs-lab", 1, 8001)          # all gone: applied again first
    assert set(up.state["components"]) == {"heartbeat"}


# ---- kernel hygiene: guarded port-forwards and their pidfiles --------------------------------
def _orphan_forward(up: Fakes, pid_dir, port: int, owner: int):  # type: ignore[no-untyped-def]
    """A `kubectl port-forward` on ``port`` in a process group of its own, recorded in
    ``pid_dir`` as started by ``owner`` — what a kernel killed with its guard leaves."""
    import subprocess

    from jobslab.processes import pidfiles

    argv = [str(up.bin / "kubectl"), "--context", CTX, "port-forward", "--namespace", "default",
            "--address", "127.0.0.1", "deployment/jobs-lab-0", f"{port}:3500"]
    proc = subprocess.Popen(argv, env=up.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, process_group=0)
    wait_until(lambda: port_accepts(port), timeout=15, what="the orphan forward listening")
    pidfile = pid_dir / f"port-forward-{port}.json"
    pidfiles.write_pidfile(pidfile, proc.pid, target="deployment/jobs-lab-0", local_port=port)
    info = json.loads(pidfile.read_text())
    info.update(owner_pid=owner, owner_create_time=None)
    pidfile.write_text(json.dumps(info))
    return proc, pidfile


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_forwards_run_guarded_and_recorded_until_stopped(up: Fakes, backend: KindBackend) -> None:
    import os

    import psutil

    [port] = backend.deploy("jobs-lab", 1, [8000])
    pidfile = backend.state_dir / f"port-forward-{port}.json"
    info = json.loads(pidfile.read_text())
    assert info["owner_pid"] == os.getpid() and info["target"] == "deployment/jobs-lab-0"
    guard = psutil.Process(info["pid"])
    assert os.getpgid(guard.pid) == guard.pid != os.getpgid(0)  # a group of its own
    assert os.getsid(guard.pid) == os.getsid(0)                 # but not a new session
    assert "processes/guard.py" in " ".join(guard.cmdline())
    assert [c.cmdline()[-1] for c in guard.children()] == [f"{port}:3500"]
    backend.undeploy("jobs-lab")
    assert not pidfile.exists()
    wait_until(lambda: not guard.is_running() or guard.status() == psutil.STATUS_ZOMBIE,
               timeout=10, what="the guard gone")


def test_ensure_stops_forwards_whose_kernel_is_gone(up: Fakes, backend: KindBackend) -> None:
    port = free_port_block(1)
    proc, pidfile = _orphan_forward(up, backend.state_dir, port, owner=_dead_pid())
    try:
        backend.ensure()
        wait_until(lambda: proc.poll() is not None, timeout=10, what="the orphan stopped")
        assert not port_accepts(port) and not pidfile.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def test_a_forward_of_a_live_kernel_is_left_alone_and_named(
        up: Fakes, backend: KindBackend) -> None:
    import os

    port = backend.base_http_port
    proc, pidfile = _orphan_forward(up, backend.state_dir, port, owner=os.getppid())
    try:
        backend.ensure()
        assert proc.poll() is None and pidfile.exists()   # its kernel (owner) still runs
        with pytest.raises(ClusterError, match=rf"another kernel \(pid {os.getppid()}\)"):
            backend.deploy("jobs-lab", 1, [8000])
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(5)


def test_a_leftover_forward_of_this_process_is_replaced(up: Fakes, backend: KindBackend) -> None:
    import os

    port = backend.base_http_port
    proc, _ = _orphan_forward(up, backend.state_dir, port, owner=os.getpid())
    try:
        assert backend.deploy("jobs-lab", 1, [8000]) == [port]
        assert proc.wait(10) is not None                  # stopped, then forwarded anew
        info = json.loads((backend.state_dir / f"port-forward-{port}.json").read_text())
        assert info["pid"] != proc.pid
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
