"""``jobslab.serve`` end to end on real Dapr 1.18.3 self-hosted: real ``scheduler`` and one real
``daprd`` per replica (found in ``$JOBSLAB_DAPR_BIN``, ``~/.dapr/bin`` or ``PATH``; the whole
module is deselected, and reported in one line, when they are not installed).

What a learner does in a notebook, on the real thing: serve a FastAPI app that has no
``/healthz`` route as three replicas, schedule a job, see each tick arrive once; stop and start
a replica; restart the Scheduler; switch backends while the stand-in's Scheduler still holds the
port; run two installations side by side.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

import jobslab
from jobslab import jobs, settings
from jobslab.hosting import ServeError, _serve
from jobslab.selfhosted import SelfHostedBackend
from support.kernels import restart_with_app_port_taken
from support.ports import free_port
from support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.realdapr]


def plain_app() -> FastAPI:
    """A learner's app: one job route and nothing else (no /healthz)."""
    app = FastAPI()

    @app.post("/job/{name}")
    async def on_job(name: str, request: Request) -> dict[str, Any]:
        await request.body()
        return {"ok": True}

    return app


def gone(name: str, port: int) -> bool:
    try:
        jobs.get(name, port=port)
    except jobs.DaprError as err:
        return err.error_code == "DAPR_SCHEDULER_GET_JOB" and "job not found" in err.message
    return False


@pytest.fixture
def real(state_dir: Path, ports: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> Any:
    """JOBSLAB_BACKEND=selfhosted on private ports; everything is stopped afterwards."""
    monkeypatch.setenv("JOBSLAB_BACKEND", "selfhosted")
    monkeypatch.setenv("JOBSLAB_SCHEDULER_PORT", str(ports["scheduler_port"]))
    monkeypatch.setattr(_serve, "_backend", None)
    monkeypatch.setattr(settings, "_connected", None)
    yield ports
    backend = _serve._backend
    _serve.stop_all()
    if backend is not None and backend.name == "selfhosted":
        backend.impl.stop()  # type: ignore[attr-defined]


def test_three_replicas_each_tick_once_replica_stop_and_scheduler_restart(
        real: dict[str, int]) -> None:
    conn = jobslab.connect()
    assert conn.backend == "selfhosted" and conn.details["daprd version"] == "1.18.3"
    handle = jobslab.serve(plain_app(), app_id="real-lab", replicas=3,
                           dapr_http_port=real["dapr_http_port"])
    port = handle.dapr_http_port

    # Every tick reaches exactly one replica, although the app has no /healthz.
    jobs.schedule("tick", "@every 1s", repeats=6, port=port)
    frame = handle.wait_for(6, job="tick", timeout=30)
    wait_until(lambda: gone("tick", port), 15, "the job to finish")
    assert len(handle.triggers.query("job == 'tick'")) == 6
    assert len(frame) == 6

    # A stopped replica gets nothing; the others take its share; started again, it rejoins.
    handle.replicas[2].stop()
    jobs.schedule("without-2", "@every 0.3s", repeats=9, port=port)
    handle.wait_for(9, job="without-2", timeout=30)
    share = collections.Counter(handle.triggers.query("job == 'without-2'")["replica"])
    assert 2 not in share and sum(share.values()) == 9
    handle.replicas[2].start()
    assert handle.replicas[2].running
    jobs.schedule("with-2", "@every 0.2s", repeats=30, port=port)
    handle.wait_for(30, job="with-2", timeout=30)
    share = collections.Counter(handle.triggers.query("job == 'with-2'")["replica"])
    assert set(share) == {0, 1, 2}, share  # 30 ticks over 9 streams reach every replica

    # A Scheduler restart keeps the jobs; the sidecars reconnect (daprd may take ~30 s).
    jobs.schedule("kept", due_time="2s", data={"k": 1}, port=port)
    handle.restart_scheduler()
    handle.wait_for(1, job="kept", timeout=60)
    handle.stop()


def test_a_restarted_replica_whose_app_port_was_taken_is_given_a_new_one_by_daprd(
        real: dict[str, int]) -> None:
    """As on the stand-in (tests/serve/test_fault_injection.py): real daprd is started again
    with the new --app-port and delivers there."""
    jobslab.connect()
    handle = jobslab.serve(plain_app(), app_id="moved", replicas=2,
                           dapr_http_port=real["dapr_http_port"])
    restart_with_app_port_taken(handle, "@every 0.3s", 12)
    handle.stop()


def test_stand_in_scheduler_on_the_port_is_named_with_the_fix(real: dict[str, int],
                                                              state_dir: Path) -> None:
    """Switching backends while `jobslab up`'s Scheduler still holds the port: one clear
    error naming the holder and the command that frees it, not a scheduler traceback."""
    port = str(real["scheduler_port"])
    up = subprocess.run([sys.executable, "-m", "jobslab", "up", "--scheduler-port", port,
                         "--state-dir", str(state_dir)], capture_output=True, text=True,
                        timeout=60)
    assert up.returncode == 0, up.stderr
    with pytest.raises(ServeError) as err:
        jobslab.connect()
    message = str(err.value)
    assert f"port {port} is held by pid" in message and "jobslab" in message
    assert "`jobslab down`" in message


def test_two_installations_run_side_by_side(tmp_path: Path) -> None:
    """Two state dirs are two installations: each scheduler gets its own health, metrics and
    etcd ports, so both run at once (a grader next to a learner's open lab)."""
    first, second = free_port(), free_port()
    a = SelfHostedBackend(state_dir=tmp_path / "a", scheduler_port=first)
    b = SelfHostedBackend(state_dir=tmp_path / "b", scheduler_port=second)
    try:
        a.ensure()
        b.ensure()
        assert a.scheduler_healthy() and b.scheduler_healthy()
        assert set(a.aux_ports().values()).isdisjoint(b.aux_ports().values())
    finally:
        a.stop()
        b.stop()
    assert not a.scheduler_healthy() and not b.scheduler_healthy()


def test_real_scheduler_on_the_stand_ins_port_is_named_with_the_fix(real: dict[str, int],
                                                                   state_dir: Path) -> None:
    """The other way round: real Dapr's scheduler still holds the port when a notebook
    connects to the stand-in. The stand-in's sidecars would wait on its gRPC until every call
    timed out; connect() says who holds the port and how to free it instead."""
    jobslab.connect()  # self-hosted: the real scheduler starts on real["scheduler_port"]
    with pytest.raises(ServeError) as err:
        jobslab.connect("local")
    message = str(err.value)
    assert f"port {real['scheduler_port']} is held by pid" in message
    assert "not by jobslab's stand-in Scheduler" in message and "scheduler" in message
    assert "JOBSLAB_SCHEDULER_PORT" in message
