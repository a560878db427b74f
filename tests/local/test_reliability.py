"""Reliability with real processes and real HTTP (the issue's tests 1–4 and 6; test 5, the
failure-policy attempt counts, is in test_delivery.py). Contract §4 (catch-up), §5
(replicas, staging), §6 (persistence), §8 (cron binding on every replica)."""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

import pytest

from ._helpers import RecordingApp, free_port, stack, wait_until

pytestmark = pytest.mark.slow


def _status(car: object, name: str) -> int:
    with car.client() as c:  # type: ignore[attr-defined]
        return c.get(f"/v1.0/jobs/{name}").status_code


def test_kill_9_scheduler_loses_nothing(tmp_path: Path, app: RecordingApp) -> None:
    """1. kill -9 while jobs are due; after a restart every job is there and missed ticks
    are delivered (§4 catch-up, §6 persistence)."""
    with stack(tmp_path) as s:
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
        with car.client() as c:  # while it is down the API says so, clearly
            r = c.post("/v1.0/jobs/x", json={"dueTime": "1s"})
            assert r.status_code == 503
            assert "not reachable" in r.json()["message"]
        wait_until(lambda: time.time() > down_until, what="the jobs to fall due")
        assert app.calls == []
        s.start_scheduler()
        for i in range(5):
            assert wait_until(lambda i=i: _status(car, f"later-{i}") == 200, what="job kept")
        wait_until(lambda: all(app.jobs(f"once-{i}") for i in range(20)), what="one-shots")
        wait_until(lambda: len(app.jobs("every")) >= 6, what="catch-up of missed ticks")
        wait_until(lambda: _status(car, "every") == 500, what="the recurring job to finish")
        assert len(app.jobs("every")) == 6
        assert all(len(app.jobs(f"once-{i}")) == 1 for i in range(20))


def test_three_replicas_round_robin_no_duplicates(tmp_path: Path) -> None:
    """2. Three sidecars of one app-id: each trigger reaches exactly one, spread evenly (§5)."""
    apps = [RecordingApp(tag=str(i)).start() for i in range(3)]
    try:
        with stack(tmp_path) as s:
            cars = [s.sidecar("rr", app_port=a.port) for a in apps]
            s.watching("rr", 3)
            with cars[0].client() as c:
                for i in range(300):
                    assert c.post(f"/v1.0/jobs/j{i}", json={"dueTime": "1s"}).status_code == 204
            wait_until(lambda: sum(len(a.calls) for a in apps) >= 300, timeout=30,
                       what="300 triggers")
            wait_until(lambda: s.stats()["jobs"] == 0, what="all jobs to finish")
            names = collections.Counter(call.job for a in apps for call in a.calls)
            assert len(names) == 300 and set(names.values()) == {1}
            shares = [len(a.calls) for a in apps]
            assert all(90 <= n <= 110 for n in shares), shares
    finally:
        for a in apps:
            a.stop()


def test_killed_replica_share_moves_to_the_others(tmp_path: Path) -> None:
    """3. Kill one replica mid-run: the others take its share; no tick is lost (§5)."""
    apps = [RecordingApp(tag=str(i)).start() for i in range(3)]
    try:
        with stack(tmp_path) as s:
            cars = [s.sidecar("kr", app_port=a.port) for a in apps]
            s.watching("kr", 3)
            jobs, ticks = 40, 5
            with cars[0].client() as c:
                for i in range(jobs):
                    assert c.post(f"/v1.0/jobs/k{i}", json={
                        "schedule": "@every 0.3s", "repeats": ticks}).status_code == 204
            wait_until(lambda: len(apps[2].calls) >= 10, what="replica 2 to get triggers")
            cars[2].proc.send_signal(signal.SIGKILL)
            cars[2].proc.wait(10)
            apps[2].stop()
            seen = len(apps[2].calls)
            wait_until(lambda: s.stats()["jobs"] == 0, timeout=60, what="all jobs to finish")
            per_job = collections.Counter(call.job for a in apps for call in a.calls)
            assert len(per_job) == jobs
            assert all(n >= ticks for n in per_job.values()), per_job  # none lost
            assert len(apps[2].calls) == seen
            assert len(apps[0].calls) > 0 and len(apps[1].calls) > 0
    finally:
        for a in apps:
            a.stop()


def test_no_replica_connected_stages_until_the_app_is_up(tmp_path: Path) -> None:
    """4. No watching sidecar at fire time: the trigger is staged, GET still returns the
    job, and it is delivered when the app comes up (§5 staging, "counts as connected")."""
    port = free_port()
    with stack(tmp_path) as s:
        car = s.sidecar("late", app_port=port)  # its app is not up yet: not watching
        with car.client() as c:
            assert c.post("/v1.0/jobs/staged", json={"dueTime": "0s", "data": 7}).status_code \
                == 204
        wait_until(lambda: s.stats()["staged"] >= 1, what="the trigger to be staged")
        assert _status(car, "staged") == 200
        app = RecordingApp(port=port).start()
        try:
            call = wait_until(lambda: app.jobs("staged"), what="delivery on connect")[0]
            assert call.body == b"7"
            wait_until(lambda: _status(car, "staged") == 500, what="deletion")
        finally:
            app.stop()


def test_sidecar_reconnects_when_the_scheduler_comes_up(tmp_path: Path) -> None:
    """A sidecar pointed at a scheduler that is down answers clearly, then reconnects."""
    with stack(tmp_path) as s:
        s.kill_scheduler()
        car = s.sidecar("early")
        with car.client() as c:
            r = c.post("/v1.0/jobs/j", json={"dueTime": "1h"})
            assert r.status_code == 503
            assert r.json()["errorCode"] == "DAPR_SCHEDULER_SCHEDULE_JOB"
            assert s.address in r.json()["message"]
            assert c.get("/v1.0/jobs/j").status_code == 500
            s.start_scheduler()
            wait_until(lambda: c.post("/v1.0/jobs/j", json={"dueTime": "1h"}).status_code
                       == 204, what="the sidecar to reconnect")


def test_cron_binding_fires_on_every_replica(tmp_path: Path, cron_component) -> None:
    """6. A bindings.cron component fires on all three replicas (§8), unlike a job."""
    resources = cron_component("tick", "@every 1s")
    apps = [RecordingApp().start() for _ in range(3)]
    try:
        with stack(tmp_path) as s:
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


def test_binding_errors_name_the_file(tmp_path: Path) -> None:
    """§8: an invalid schedule fails start-up with a message naming the component file."""
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
