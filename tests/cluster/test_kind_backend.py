"""``KindBackend`` (what ``jobslab.serve`` uses with JOBSLAB_BACKEND=kind) against fakes:
host address (§2.3), replica Deployments, rollout, sidecar check, port-forward watchdog (§2.1).
"""

from __future__ import annotations

import pytest

from jobslab.cluster import (
    ClusterError,
    KindBackend,
    KindCluster,
    PortForward,
    PortForwardManager,
)
from jobslab.cluster.host import host_address
from jobslab.cluster.runner import port_accepts, wait_until

from .conftest import Fakes, free_port_block

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
    with pytest.raises(ClusterError, match="jobslab cluster up"):
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
    """Spec §5 problem 14: applied before the injector was ready."""
    up.update(no_sidecar=["jobs-lab-0"])
    backend.deploy("jobs-lab", 1, [8000])
    assert ["--context", CTX, "rollout", "restart", "deployment/jobs-lab-0", "--namespace",
            "default"] in up.calls("kubectl")


def test_rollout_timeout_explains_the_host_handler_pitfall(
        up: Fakes, backend: KindBackend) -> None:
    up.fail("kubectl", "rollout", "status", "deployment/jobs-lab-0",
            stderr="error: timed out waiting for the condition")
    with pytest.raises(ClusterError) as err:
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
    """§2.1: port-forward dies when its pod is replaced; the manager starts it again."""
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
