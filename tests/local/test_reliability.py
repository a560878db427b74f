"""Reliability with real processes and real HTTP, on the stand-in and on real Dapr: catch-up
after downtime, persistence, replicas, staging, cron bindings on every replica.

Each test asserts what both backends guarantee. Where they differ in timing only (daprd
1.18.3 can take up to ~30 s to reconnect to a restarted Scheduler; the stand-in reconnects
within 2 s), the deadlines allow for the slower one."""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

import httpx
import pytest

from support.ports import free_port
from support.stacks import RecordingApp, Sidecar, stack
from support.waiting import wait_until

pytestmark = pytest.mark.slow


def _status(car: Sidecar, name: str) -> int | None:
    """GET's status, or None while the sidecar waits for its Scheduler (daprd holds the call
    until it has reconnected)."""
    with car.client(timeout=5) as c:
        try:
            return c.get(f"/v1.0/jobs/{name}").status_code
        except httpx.TimeoutException:
            return None


def test_kill_9_scheduler_loses_nothing(tmp_path: Path, app: RecordingApp, backend: str) -> None:
    """1. kill -9 while jobs are due; after a restart every job is there and missed ticks
    are delivered (docs/dapr-behaviour.md#catch-up-and-sequential-triggers,
    docs/dapr-behaviour.md#storage-and-scoping)."""
    with stack(tmp_path, backend) as s:
        car = s.sidecar("r1", app_port=app.port)
        s.watching("r1", 1)
        with car.client() as c:
            for i in range(20):
                assert c.post(f"/v1.0/jobs/once-{i}", json={"dueTime": "2s"}).status_code == 204
            for i in range(5):
                assert c.post(f"/v1.0/jobs/later-{i}", json={"dueTime": "1h"}).status_code == 204
            assert c.post("/v1.0/jobs/every", json={
                "schedule": "@every 0.5s", "dueTime": "2s", "repeats": 6}).status_code == 204
        s.kill_scheduler(signal.SIGKILL)
        down_until = time.time() + 4
        with car.client(timeout=1) as c, pytest.raises(httpx.TimeoutException):
            # While it is down a call waits for it (daprd: up to 30 s, then 500
            # "context deadline exceeded"); it never pretends to have scheduled the job.
            c.post("/v1.0/jobs/x", json={"dueTime": "1s"})
        wait_until(lambda: time.time() > down_until, what="the jobs to fall due")
        assert [c for c in app.calls if c.job] == []
        s.start_scheduler()
        for i in range(5):
            assert wait_until(lambda i=i: _status(car, f"later-{i}") == 200, timeout=60,
                              what="job kept")
        wait_until(lambda: all(app.jobs(f"once-{i}") for i in range(20)), timeout=60,
                   what="one-shots")
        wait_until(lambda: len(app.jobs("every")) >= 6, what="catch-up of missed ticks")
        wait_until(lambda: _status(car, "every") == 500, what="the recurring job to finish")
        assert len(app.jobs("every")) == 6
        assert all(len(app.jobs(f"once-{i}")) == 1 for i in range(20))


def test_three_replicas_round_robin_no_duplicates(tmp_path: Path, backend: str) -> None:
    """2. Three sidecars of one app-id: each trigger reaches exactly one, spread evenly
    (docs/dapr-behaviour.md#replicas).
    (Real daprd opens three job streams per sidecar and the Scheduler rotates over streams,
    so the order differs from the stand-in's rotation over sidecars; the shares do not.)"""
    apps = [RecordingApp(tag=str(i)).start() for i in range(3)]
    try:
        with stack(tmp_path, backend) as s:
            cars = [s.sidecar("rr", app_port=a.port) for a in apps]
            s.watching("rr", 3)
            with cars[0].client() as c:
                for i in range(300):
                    assert c.post(f"/v1.0/jobs/j{i}", json={"dueTime": "1s"}).status_code == 204
            wait_until(lambda: sum(len(a.jobs_called()) for a in apps) >= 300, timeout=30,
                       what="300 triggers")
            wait_until(lambda: s.gone(cars[0], *(f"j{i}" for i in range(300))),
                       what="all jobs to finish")
            names = collections.Counter(call.job for a in apps for call in a.jobs_called())
            assert len(names) == 300 and set(names.values()) == {1}
            shares = [len(a.jobs_called()) for a in apps]
            assert all(90 <= n <= 110 for n in shares), shares
    finally:
        for a in apps:
            a.stop()


def test_killed_replica_share_moves_to_the_others(tmp_path: Path, backend: str) -> None:
    """3. Kill one replica mid-run: the others take its share; no tick is lost
    (docs/dapr-behaviour.md#replicas)."""
    apps = [RecordingApp(tag=str(i)).start() for i in range(3)]
    try:
        with stack(tmp_path, backend) as s:
            cars = [s.sidecar("kr", app_port=a.port) for a in apps]
            s.watching("kr", 3)
            jobs, ticks = 30, 12
            names = [f"k{i}" for i in range(jobs)]
            with cars[0].client() as c:
                for name in names:
                    assert c.post(f"/v1.0/jobs/{name}", json={
                        "schedule": "@every 0.5s", "repeats": ticks}).status_code == 204
            wait_until(lambda: len(apps[2].jobs_called()) >= 10,
                       what="replica 2 to get triggers")
            cars[2].proc.send_signal(signal.SIGKILL)
            cars[2].proc.wait(10)
            apps[2].stop()  # after stop() it records nothing more: its count is final
            killed_at = time.time()
            seen = len(apps[2].jobs_called())
            # The test only means something if ticks were still to come after the kill.
            assert not s.gone(cars[0], *names), "every job finished before the kill"
            wait_until(lambda: s.gone(cars[0], *names), timeout=90,
                       what="all jobs to finish")
            per_job = collections.Counter(call.job for a in apps for call in a.jobs_called())
            assert set(per_job) == set(names)
            assert all(n >= ticks for n in per_job.values()), per_job  # none lost
            assert len(apps[2].jobs_called()) == seen
            after = [c for a in apps[:2] for c in a.jobs_called() if c.at > killed_at]
            assert {c.path for c in after}, "no trigger reached the other replicas after the kill"
            assert all(a.jobs_called() for a in apps[:2])
    finally:
        for a in apps:
            a.stop()


def test_no_replica_connected_stages_until_the_app_is_up(tmp_path: Path, backend: str) -> None:
    """4. No watching sidecar at fire time: the trigger is staged, GET still returns the
    job, and it is delivered when the app comes up (docs/dapr-behaviour.md#staging)."""
    port = free_port()
    with stack(tmp_path, backend) as s:
        car = s.sidecar("late", app_port=port)  # its app is not up yet: not watching
        assert car.health() == 500  # daprd: "dapr is not ready: [runtime]"
        with car.client() as c:
            assert c.post("/v1.0/jobs/staged", json={"dueTime": "0s", "data": 7}).status_code \
                == 204
        due = time.time()
        wait_until(lambda: time.time() > due + 1.5, what="the trigger to fall due")
        assert _status(car, "staged") == 200
        app = RecordingApp(port=port).start()
        try:
            call = wait_until(lambda: app.jobs("staged"), timeout=30,
                              what="delivery on connect")[0]
            assert call.body == b"7"
            wait_until(lambda: _status(car, "staged") == 500, what="deletion")
        finally:
            app.stop()


def test_sidecar_started_before_the_scheduler_gets_ready_with_it(tmp_path: Path,
                                                                backend: str) -> None:
    """A sidecar pointed at a scheduler that is down is "not ready" until it reaches it; then
    the Jobs API works."""
    with stack(tmp_path, backend) as s:
        s.kill_scheduler()
        car = s.sidecar("early")
        with car.client() as c:
            r = c.get("/v1.0/healthz")
            assert r.status_code == 500
            assert r.json() == {"errorCode": "ERR_HEALTH_NOT_READY",
                                "message": "dapr is not ready: [scheduler-watch-hosts]"}
            s.start_scheduler()
            wait_until(lambda: car.health() == 204, timeout=60, what="the sidecar to be ready")
            assert c.post("/v1.0/jobs/j", json={"dueTime": "1h"}).status_code == 204


def test_cron_binding_fires_on_every_replica(tmp_path: Path, cron_component,
                                            backend: str) -> None:
    """6. A bindings.cron component fires on all three replicas, unlike a job
    (docs/dapr-behaviour.md#cron-bindings)."""
    resources = cron_component("tick", "@every 1s")
    apps = [RecordingApp().start() for _ in range(3)]
    try:
        with stack(tmp_path, backend) as s:
            for a in apps:
                s.sidecar("cronapp", app_port=a.port,
                          extra=["--resources-path", str(resources)])
            for a in apps:
                wait_until(lambda a=a: len([c for c in a.calls if c.method == "POST"]) >= 2,
                           what="two cron fires on every replica")
            for a in apps:
                fires = [c for c in a.calls if c.method == "POST"]
                assert all(c.path == "/tick" and c.body == b"" for c in fires)
    finally:
        for a in apps:
            a.stop()


@pytest.mark.parametrize(("options_status", "direction", "fires"), [
    (204, None, True), (405, None, True), (404, None, False), (500, None, False),
    (404, "input", True)])
def test_cron_binding_fires_only_when_the_app_answers_its_options_probe(
        tmp_path: Path, cron_component, backend: str, options_status: int,
        direction: str | None, fires: bool) -> None:
    """daprd asks ``OPTIONS /<binding>`` at start-up: 2xx or 405 means the app takes the
    binding; anything else, and the binding never calls the app — unless the component says
    ``direction: input``, which skips the probe."""
    resources = cron_component("probe", "@every 0.5s", direction)
    app = RecordingApp(options_status=options_status).start()
    try:
        with stack(tmp_path, backend) as s:
            s.sidecar("probeapp", app_port=app.port, extra=["--resources-path", str(resources)])
            s.watching("probeapp", 1)
            if direction is None:
                wait_until(lambda: any(c.method == "OPTIONS" for c in app.calls),
                           what="the OPTIONS probe")
            probed = time.time()
            if fires:
                wait_until(lambda: any(c.method == "POST" for c in app.calls),
                           what="a cron fire")
            else:  # a negative: give it three would-be ticks
                wait_until(lambda: time.time() > probed + 1.6, what="three ticks' time")
                assert not [c for c in app.calls if c.method == "POST"]
    finally:
        app.stop()


def test_binding_errors_name_the_file(tmp_path: Path) -> None:
    """An invalid schedule fails start-up with a message naming the component file."""
    import subprocess
    import sys

    (tmp_path / "bad.yaml").write_text(
        "kind: Component\nmetadata: {name: b}\nspec:\n  type: bindings.cron\n"
        "  metadata: [{name: schedule, value: '0 0 25 * * *'}]\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "jobslab", "run", "--app-id", "x", "--dapr-http-port",
         str(free_port()), "--resources-path", str(tmp_path), "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "bad.yaml" in out.stderr and "above maximum" in out.stderr
