"""Fault injection for the lessons, in-process against the real stand-in.

Missed ticks are caught up after downtime and jobs survive a Scheduler restart
(docs/dapr-behaviour.md#catch-up-and-sequential-triggers); a cron binding fires on every
replica, the Jobs API on one (docs/dapr-behaviour.md#cron-bindings).
"""

from __future__ import annotations

import socket

import pytest
from fastapi import FastAPI, Request

import jobslab
from jobslab import jobs
from jobslab.hosting import PortInUseError
from support.kernels import restart_with_app_port_taken
from support.waiting import wait_until

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/job/{name}")
    async def on_job(name: str, request: Request):
        await request.body()
        return {"ok": True}

    @app.post("/heartbeat")
    async def heartbeat():
        return {}

    @app.options("/heartbeat")
    async def heartbeat_subscribe():
        return {}

    return app


def test_restart_scheduler_keeps_the_job_and_catches_up_missed_ticks(state_dir, ports) -> None:
    """Missed ticks are caught up: every tick of a job survives a Scheduler restart."""
    jobslab.connect(scheduler_port=ports["scheduler_port"])
    handle = jobslab.serve(_app(), app_id="restart", replicas=1,
                           dapr_http_port=ports["dapr_http_port"])
    port = handle.dapr_http_port
    jobs.schedule("tick", "@every 1s", repeats=5, data={"n": 1}, port=port)
    handle.wait_for(1, job="tick", timeout=20)
    handle.restart_scheduler()
    assert jobs.get("tick", port=port)["schedule"] == "@every 1s"  # still stored
    arrived = handle.wait_for(5, job="tick", timeout=30)
    assert len(arrived) == 5
    assert (arrived["body"] == '{"n":1}').all()


def test_a_stopped_replica_restarts_and_gets_triggers_again(state_dir, ports) -> None:
    """Round robin over connected sidecars: a restarted replica rejoins the rotation."""
    jobslab.connect(scheduler_port=ports["scheduler_port"])
    handle = jobslab.serve(_app(), app_id="rejoin", replicas=2,
                           dapr_http_port=ports["dapr_http_port"])
    handle.replicas[1].stop()
    assert not handle.replicas[1].running
    jobs.schedule("solo", "@every 1s", repeats=2, port=handle.dapr_http_port)
    solo = handle.wait_for(2, job="solo", timeout=20)
    assert set(solo["replica"]) == {0}
    handle.replicas[1].start()
    jobs.schedule("both", "@every 1s", repeats=6, port=handle.dapr_http_port)
    both = handle.wait_for(6, job="both", timeout=30)
    assert set(both["replica"]) == {0, 1}


def test_a_restarted_replica_whose_app_port_was_taken_gets_a_new_one(state_dir, ports) -> None:
    """The OS hands a stopped replica's app port (one it picked) to whoever asks next — seen
    when a notebook run beside this one started its app servers. start() then takes a new
    free port and tells the sidecar, which delivers there."""
    jobslab.connect(scheduler_port=ports["scheduler_port"])
    handle = jobslab.serve(_app(), app_id="moved", replicas=2,
                           dapr_http_port=ports["dapr_http_port"])
    restart_with_app_port_taken(handle, "@every 1s", 6)


def test_a_replica_on_an_app_port_the_learner_chose_says_who_holds_it(state_dir, ports,
                                                                       spare_ports) -> None:
    """A port the learner chose is never swapped behind their back: start() names the
    holder."""
    jobslab.connect(scheduler_port=ports["scheduler_port"])
    handle = jobslab.serve(_app(), app_id="chosen", replicas=1, app_port=spare_ports[0],
                           dapr_http_port=ports["dapr_http_port"])
    replica = handle.replicas[0]
    replica.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", spare_ports[0]))
        squatter.listen()
        with pytest.raises(PortInUseError, match=f"port {spare_ports[0]} is already in use"):
            replica.start()
    assert replica.app_port == spare_ports[0]


def test_a_cron_binding_fires_on_every_replica_and_is_recorded(state_dir, ports,
                                                               cron_component) -> None:
    """Every replica fires a cron binding: each sidecar runs its own."""
    resources = cron_component("heartbeat", "@every 1s")
    jobslab.connect(scheduler_port=ports["scheduler_port"])
    handle = jobslab.serve(_app(), app_id="cron", replicas=2,
                           dapr_http_port=ports["dapr_http_port"], resources_path=resources)

    def per_replica() -> dict[int, int]:
        frame = handle.triggers
        return frame[frame["route"] == "/heartbeat"].groupby("replica").size().to_dict()

    wait_until(lambda: min(per_replica().get(r, 0) for r in (0, 1)) >= 2, 30,
               "two binding fires on each replica")
    counts = per_replica()
    assert counts.get(0, 0) >= 2 and counts.get(1, 0) >= 2, counts
    frame = handle.triggers
    assert (frame.loc[frame["route"] == "/heartbeat", "body"] == "").all()  # empty body
