"""``SelfHostedBackend`` against fake ``daprd``/``scheduler`` executables that record their
flags (docs/kind.md#the-self-hosted-path-no-docker-no-kubernetes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobslab.errors import SelfHostedError
from jobslab.ports import accepts as port_accepts
from jobslab.selfhosted import SelfHostedBackend
from support.fakes import Fakes, flag
from support.ports import free_port_block
from support.waiting import wait_until

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits


@pytest.fixture
def backend(fakes: Fakes, tmp_path: Path):  # type: ignore[no-untyped-def]
    sched = free_port_block(3)
    b = SelfHostedBackend(
        state_dir=tmp_path / "state", runner=fakes.runner(), base_http_port=free_port_block(3),
        scheduler_port=sched, scheduler_healthz_port=sched + 1, scheduler_metrics_port=sched + 2,
        ready_timeout=15)
    yield b
    b.stop()


def test_capabilities() -> None:
    assert SelfHostedBackend.supports_job_list is False
    assert SelfHostedBackend.supports_scheduler_restart is True
    assert SelfHostedBackend.handler_bind_host == "127.0.0.1"


def test_scheduler_starts_with_the_spec_flags_once(fakes: Fakes,
                                                   backend: SelfHostedBackend) -> None:
    backend.ensure()
    backend.ensure()                          # idempotent: still one scheduler
    starts = [c for c in fakes.calls("scheduler") if "--version" not in c]
    assert len(starts) == 1
    argv = starts[0]
    assert flag(argv, "--listen-address") == "127.0.0.1"
    assert flag(argv, "--port") == str(backend.scheduler_port)
    assert flag(argv, "--healthz-port") == str(backend.scheduler_healthz_port)
    assert flag(argv, "--metrics-port") == str(backend.scheduler_metrics_port)
    assert flag(argv, "--etcd-data-dir") == str(backend.state_dir / "scheduler-data")
    assert (backend.state_dir / "scheduler.json").is_file()


def test_each_installation_has_its_own_recorded_ports(fakes: Fakes, tmp_path: Path) -> None:
    """Two state dirs are two installations: distinct health/metrics/etcd ports, picked free
    once and read back from the state dir afterwards; the gRPC port stays Dapr's 50006."""
    a = SelfHostedBackend(state_dir=tmp_path / "a", runner=fakes.runner())
    b = SelfHostedBackend(state_dir=tmp_path / "b", runner=fakes.runner())
    assert a.scheduler_address == b.scheduler_address == "127.0.0.1:50006"
    ports_a, ports_b = a.aux_ports(), b.aux_ports()
    assert set(ports_a) == {"healthz", "metrics", "etcd_client", "etcd_peer"}
    assert len(set(ports_a.values()) | set(ports_b.values())) == 8
    assert 2379 not in ports_a.values() and 50006 not in ports_a.values()
    again = SelfHostedBackend(state_dir=tmp_path / "a", runner=fakes.runner())
    assert again.aux_ports() == ports_a       # recorded in the state dir
    argv = again.scheduler_argv()
    assert flag(argv, "--etcd-client-port") == str(ports_a["etcd_client"])
    assert flag(argv, "--etcd-initial-cluster") == \
        f"dapr-scheduler-server-0=http://localhost:{ports_a['etcd_peer']}"


def test_scheduler_port_held_names_the_holder_and_the_fix(fakes: Fakes, tmp_path: Path) -> None:
    """Switching backends with the stand-in's scheduler still on the port: one clear error."""
    import socket
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        b = SelfHostedBackend(state_dir=tmp_path, runner=fakes.runner(), scheduler_port=port)
        with pytest.raises(SelfHostedError) as err:
            b.ensure()
    message = str(err.value)
    assert f"port {port} is held by pid" in message
    assert "JOBSLAB_SCHEDULER_PORT" in message
    assert not [c for c in fakes.calls("scheduler") if "--version" not in c]


def test_one_daprd_per_replica_with_the_dapr_run_flags(fakes: Fakes,
                                                       backend: SelfHostedBackend) -> None:
    ports = backend.deploy("jobs-lab", 3, [8000, 8001, 8002])
    base = backend.base_http_port
    assert ports == [base, base + 1, base + 2]
    assert all(port_accepts(p) for p in ports)
    runs = [c for c in fakes.calls("daprd") if "--version" not in c]
    assert len(runs) == 3
    for i, argv in enumerate(runs):
        assert flag(argv, "--app-id") == "jobs-lab"
        assert flag(argv, "--app-port") == str(8000 + i)
        assert flag(argv, "--dapr-http-port") == str(base + i)
        assert flag(argv, "--app-channel-address") == "127.0.0.1"
        assert flag(argv, "--scheduler-host-address") == f"127.0.0.1:{backend.scheduler_port}"
        assert flag(argv, "--placement-host-address") == ""
        # Dapr's default, no app health check: an app without /healthz still gets triggers.
        assert "--enable-app-health-check" not in argv
        assert "--app-health-check-path" not in argv
    grpc = {flag(a, "--dapr-grpc-port") for a in runs}
    assert len(grpc) == 3                     # no two replicas share a gRPC port
    assert sorted(p.name for p in backend.state_dir.glob("daprd-*.json")) == [
        "daprd-jobs-lab-0.json", "daprd-jobs-lab-1.json", "daprd-jobs-lab-2.json"]


def test_undeploy_and_stop_end_every_process(fakes: Fakes, backend: SelfHostedBackend) -> None:
    ports = backend.deploy("jobs-lab", 2, [8000, 8001])
    backend.undeploy("jobs-lab")
    wait_until(lambda: not any(port_accepts(p) for p in ports), timeout=10, what="daprd gone")
    assert not list(backend.state_dir.glob("daprd-*.json"))
    backend.stop()
    assert not (backend.state_dir / "scheduler.json").exists()
    assert not port_accepts(backend.scheduler_healthz_port)


def test_restart_scheduler_starts_a_new_one(fakes: Fakes, backend: SelfHostedBackend) -> None:
    backend.ensure()
    first = (backend.state_dir / "scheduler.json").read_text()
    backend.restart_scheduler()
    assert (backend.state_dir / "scheduler.json").read_text() != first
    assert len([c for c in fakes.calls("scheduler") if "--version" not in c]) == 2


def test_binaries_in_dot_dapr_bin_come_first(fakes: Fakes, tmp_path: Path) -> None:
    home_bin = Path(fakes.env["HOME"]) / ".dapr" / "bin"
    home_bin.mkdir(parents=True)
    for tool in ("daprd", "scheduler"):
        (fakes.bin / tool).rename(home_bin / tool)
    b = SelfHostedBackend(state_dir=tmp_path, runner=fakes.runner())
    assert b.binary("daprd") == str(home_bin / "daprd")


def test_missing_binaries_say_to_run_dapr_init_slim(fakes: Fakes, tmp_path: Path) -> None:
    fakes.remove("daprd")
    b = SelfHostedBackend(state_dir=tmp_path, runner=fakes.runner())
    with pytest.raises(SelfHostedError, match=r"dapr init --slim --runtime-version 1\.18\.3"):
        b.ensure()


def test_daprd_that_exits_is_reported_with_its_log(fakes: Fakes,
                                                  backend: SelfHostedBackend) -> None:
    fakes.fail("daprd", "--app-id", stderr="fatal: failed to start HTTP server: bind: address "
               "already in use")
    with pytest.raises(SelfHostedError) as err:
        backend.deploy("jobs-lab", 1, [8000])
    assert "address already in use" in str(err.value)
    assert "daprd-jobs-lab-0 exited" in str(err.value)


def test_scheduler_that_fails_to_start_is_reported_as_such(fakes: Fakes,
                                                           backend: SelfHostedBackend) -> None:
    """A scheduler that dies at start-up is named, with its log, never mistaken for another
    installation's healthy one (each installation has its own health port)."""
    fakes.fail("scheduler", "--port", stderr="fatal: listen tcp 127.0.0.1:2379: bind: address "
               "already in use")
    with pytest.raises(SelfHostedError) as err:
        backend.ensure()
    assert "scheduler exited" in str(err.value)
    assert "address already in use" in str(err.value)
