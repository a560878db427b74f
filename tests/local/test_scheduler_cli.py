"""``jobslab scheduler ...`` as a subprocess: the ``dapr scheduler`` look-alike on the stand-in,
``scheduler serve``, the deprecated ``jobs`` alias, ``run``'s short flags, the "Examples:" of
every ``--help``, and the hand-over to a (fake) ``dapr`` on the real-Dapr backends."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobslab.ports import accepts, can_bind
from support.fakes import install_dapr_cli, records
from support.ports import free_port
from support.processes import jobslab, kill_group
from support.stacks import RecordingApp, Stack, stack
from support.waiting import wait_until

pytestmark = pytest.mark.slow

SHORT_HEADER = ["NAME", "BEGIN", "COUNT", "LAST", "TRIGGER"]
WIDE_HEADER = ["NAMESPACE", "NAME", "BEGIN", "EXPIRATION", "SCHEDULE", "DUE", "TIME", "TTL",
               "REPEATS", "COUNT", "LAST", "TRIGGER"]


def sched(s: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``jobslab scheduler ARGS`` against the stack's stand-in Scheduler."""
    return jobslab("scheduler", *args, "--scheduler-host-address", s.address,
                   "--state-dir", str(s.state_dir))


def listed(s: Stack, *args: str) -> list[dict[str, Any]]:
    out = sched(s, "list", "-o", "json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else []


def schedule(car: Any, name: str, body: dict[str, Any]) -> None:
    with car.client() as c:
        resp = c.post(f"/v1.0-alpha1/jobs/{name}", json=body)
    assert resp.status_code == 204, resp.text


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]


@pytest.fixture
def s(tmp_path: Path) -> Iterator[Stack]:
    with stack(tmp_path) as running:
        assert isinstance(running, Stack)
        yield running


# --- list, in all four forms ------------------------------------------------------------


def test_list_short_wide_yaml_json_and_namespaces(s: Stack, app: RecordingApp) -> None:
    car = s.sidecar("orders", app_port=app.port)
    s.watching("orders", 1)
    schedule(car, "tick", {"schedule": "@every 1s", "ttl": "1h", "data": {"n": 1}})
    schedule(car, "later", {"dueTime": "1h"})
    schedule(car, "capped", {"schedule": "@every 1h", "repeats": 3})
    other = s.sidecar("billing", env={"NAMESPACE": "other"})
    schedule(other, "elsewhere", {"dueTime": "2h"})
    wait_until(lambda: any(j["name"] == "app/orders/tick" and j["count"] >= 1
                           for j in listed(s)), what="a counted tick")

    short = sched(s, "list")
    assert short.returncode == 0, short.stderr
    table = rows(short.stdout)
    assert table[0] == SHORT_HEADER
    by_name = {r[0]: r for r in table[1:]}
    assert set(by_name) == {"app/orders/tick", "app/orders/later", "app/orders/capped"}
    tick = by_name["app/orders/tick"]
    assert tick[1].startswith("-") and int(tick[2]) >= 1 and tick[3].startswith("-")
    assert by_name["app/orders/later"][1].startswith("+")  # begins in about an hour
    assert by_name["app/orders/later"][1].endswith("m")
    assert by_name["app/orders/later"][2] == "0"
    assert table[-1][0] == "app/orders/later"  # sorted by begin

    wide = sched(s, "list", "-o", "wide")
    table = rows(wide.stdout)
    assert table[0] == WIDE_HEADER
    line = next(r for r in table if r[1] == "app/orders/tick")
    assert line[0] == "default" and "@every" in line and "1h" in line

    as_json = listed(s)
    assert [j["name"] for j in as_json] == [r[0] for r in rows(short.stdout)[1:]]
    capped = next(j for j in as_json if j["name"] == "app/orders/capped")
    assert capped == {"namespace": "default", "name": "app/orders/capped",
                      "begin": capped["begin"], "expiration": None, "schedule": "@every 1h",
                      "dueTime": None, "ttl": None, "repeats": 3, "count": 0}
    assert capped["begin"].endswith("Z") and "." not in capped["begin"]  # to the second
    later = next(j for j in as_json if j["name"] == "app/orders/later")
    assert later["dueTime"] == "1h" and later["schedule"] is None
    tick_json = next(j for j in as_json if j["name"] == "app/orders/tick")
    assert tick_json["ttl"] == "1h" and tick_json["expiration"].endswith("Z")
    assert tick_json["lastTrigger"].endswith("Z")

    as_yaml = yaml.safe_load(sched(s, "list", "-o", "yaml").stdout)
    assert [str(y["name"]) for y in as_yaml] == [j["name"] for j in as_json]
    assert "count" not in next(y for y in as_yaml if y["name"] == "app/orders/later")

    assert [j["name"] for j in listed(s, "-n", "other")] == ["app/billing/elsewhere"]
    assert [j["name"] for j in listed(s, "--namespace", "other")] == ["app/billing/elsewhere"]
    empty = sched(s, "list", "-n", "nowhere")
    assert empty.returncode == 0 and empty.stdout == ""
    assert empty.stderr.strip() == '❌  No jobs found in namespace "nowhere"'
    assert listed(s, "--filter", "actor") == []

    bad = sched(s, "list", "-o", "table")
    assert bad.returncode == 1
    assert "invalid value for --output. Supported values are short, wide, yaml, json" \
        in bad.stderr


# --- get, delete, delete-all ----------------------------------------------------------------


def test_get_and_delete(s: Stack) -> None:
    car = s.sidecar("orders")
    schedule(car, "a", {"dueTime": "1h", "data": "x"})
    schedule(car, "b", {"schedule": "0 0 * * * *", "repeats": 2})

    short = sched(s, "get", "app/orders/a")
    assert short.returncode == 0, short.stderr
    assert rows(short.stdout)[0] == ["NAME", "BEGIN", "COUNT"]  # LAST TRIGGER blank: left out
    assert rows(short.stdout)[1][0] == "app/orders/a"
    (got,) = json.loads(sched(s, "get", "app/orders/a", "-o", "json").stdout)
    assert got["name"] == "app/orders/a" and got["dueTime"] == "1h"
    both = json.loads(sched(s, "get", "app/orders/a", "app/orders/b", "-o", "json").stdout)
    assert [g["name"] for g in both] == ["app/orders/a", "app/orders/b"]
    wide = rows(sched(s, "g", "app/orders/b", "-o", "wide").stdout)
    assert wide[0] == ["NAMESPACE", "NAME", "BEGIN", "SCHEDULE", "REPEATS", "COUNT"]
    assert yaml.safe_load(sched(s, "get", "app/orders/b", "-o", "yaml").stdout)[0]["repeats"] == 2

    missing = sched(s, "get", "app/orders/nope")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == "❌  job 'app/orders/nope' not found"
    assert "not found" in sched(s, "get", "app/orders/a", "-n", "other").stderr
    bad = sched(s, "get", "app/orders")
    assert bad.returncode == 1 and "expecting job key to be in format " \
        "'app/{app ID}/{job name}', got 'app/orders'" in bad.stderr
    assert "unsupported job type 'job'" in sched(s, "get", "job/orders/a").stderr
    assert "job 'actor/t/i/r' not found" in sched(s, "get", "actor/t/i/r").stderr

    deleted = sched(s, "delete", "app/orders/a")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == "ℹ️  Deleted app/orders/a in namespace 'default'."
    assert sched(s, "get", "app/orders/a").returncode == 1
    assert s.gone(car, "a")
    again = sched(s, "delete", "app/orders/a")
    assert again.returncode == 1
    assert "no job with key 'app/orders/a' found in namespace 'default'" in again.stderr
    assert [j["name"] for j in listed(s)] == ["app/orders/b"]


def test_delete_all_for_an_app_and_all(s: Stack) -> None:
    orders, billing = s.sidecar("orders"), s.sidecar("billing")
    other = s.sidecar("orders", env={"NAMESPACE": "other"})
    for name in ("o1", "o2"):
        schedule(orders, name, {"dueTime": "1h"})
    schedule(billing, "b1", {"dueTime": "1h"})
    schedule(other, "x1", {"dueTime": "1h"})

    out = sched(s, "delete-all", "app/orders")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "ℹ️  Deleted job 'dapr/jobs/app||default||orders||o1'.",
        "ℹ️  Deleted job 'dapr/jobs/app||default||orders||o2'.",
        "ℹ️  Deleted 2 jobs in namespace 'default'.",
    ]
    assert [j["name"] for j in listed(s)] == ["app/billing/b1"]
    assert s.gone(orders, "o1", "o2")

    out = sched(s, "delete-all", "all")
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == \
        "ℹ️  Deleted 1 jobs in namespace 'default'."
    assert listed(s) == []
    assert [j["name"] for j in listed(s, "-n", "other")] == ["app/orders/x1"]  # untouched

    assert sched(s, "da", "app", "-n", "other").stdout.splitlines()[-1] == \
        "ℹ️  Deleted 1 jobs in namespace 'other'."
    assert "unknown key prefix: jobs" in sched(s, "delete-all", "jobs").stderr
    assert "invalid key format: app/a/b" in sched(s, "delete-all", "app/a/b").stderr


# --- export, import ---------------------------------------------------------------------------


def test_export_delete_all_import_round_trip(s: Stack, app: RecordingApp,
                                             tmp_path: Path) -> None:
    car = s.sidecar("rt", app_port=app.port)
    s.watching("rt", 1)
    bodies = {
        "every": {"schedule": "@every 1s", "ttl": "1h", "data": {"k": [1, "two"]},
                  "failurePolicy": {"constant": {"interval": "2s", "maxRetries": 5}}},
        "cron": {"schedule": "*/1 * * * * *", "repeats": 1000, "dueTime": "1s",
                 "failurePolicy": {"drop": {}}},
        "once": {"dueTime": "2h", "data": "plain text"},
    }
    for name, body in bodies.items():
        schedule(car, name, body)
    wait_until(lambda: len(app.jobs("every")) >= 2 and len(app.jobs("cron")) >= 1,
               what="both repeating jobs to fire")
    with car.client() as c:
        before_get = {n: c.get(f"/v1.0-alpha1/jobs/{n}").json() for n in bodies}
    kill_group(car.proc)  # nothing counts ticks while the jobs are out and back
    s.watching("rt", 0)
    before = listed(s)
    assert {j["name"] for j in before} == {f"app/rt/{n}" for n in bodies}
    assert all(j["count"] >= 1 for j in before if j["name"] != "app/rt/once")

    first = tmp_path / "jobs.json"
    out = sched(s, "export", "-o", str(first))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["ℹ️  Exported 3 jobs and 2 counters.",
                                       f"ℹ️  Export to '{first}' complete."]
    doc = json.loads(first.read_text())
    assert doc["kind"] == "jobslab-scheduler-export"
    assert set(doc["jobs"]) == {f"dapr/jobs/app||default||rt||{n}" for n in bodies}
    refused = sched(s, "export", "-o", str(first))
    assert refused.returncode == 1 and f"file '{first}' already exists" in refused.stderr

    assert sched(s, "delete-all", "all").returncode == 0
    assert listed(s) == []
    out = sched(s, "import", "-f", str(first))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["ℹ️  Imported 5 items.",
                                       f"ℹ️  Import from '{first}' complete."]
    assert listed(s) == before  # same jobs, same fields, same counts and last triggers
    second = tmp_path / "again.json"
    assert sched(s, "export", "--output-file", str(second)).returncode == 0
    assert json.loads(second.read_text()) == doc

    fired = {n: len(app.jobs(n)) for n in bodies}
    car = s.sidecar("rt", app_port=app.port)
    with car.client() as c:
        assert {n: c.get(f"/v1.0-alpha1/jobs/{n}").json() for n in bodies} == before_get
    wait_until(lambda: len(app.jobs("every")) > fired["every"]
               and len(app.jobs("cron")) > fired["cron"], what="imported jobs to fire")
    assert app.jobs("every")[-1].body == b'{"k":[1,"two"]}'


def test_import_refuses_other_files(s: Stack, tmp_path: Path) -> None:
    gob = tmp_path / "dapr.bin"
    gob.write_bytes(b"\x0f\xff\x81\x03\x01\x01\nExportFile")
    out = sched(s, "import", "-f", str(gob))
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    assert "is not a `jobslab scheduler export` file" in out.stderr
    assert "dapr scheduler import" in out.stderr
    missing = sched(s, "import", "--input-file", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "No such file" in missing.stderr
    assert "required" in sched(s, "import").stderr  # -f is required, as in dapr


# --- the deprecated alias, serve, run's short flags -------------------------------------------


def test_jobs_list_is_a_deprecated_alias(s: Stack) -> None:
    car = s.sidecar("old")
    schedule(car, "j", {"dueTime": "1h"})
    out = jobslab("jobs", "list", "--scheduler-host-address", s.address,
                  "--state-dir", str(s.state_dir))
    assert out.returncode == 0 and "default/old/j: dueTime 1h" in out.stdout
    (note,) = out.stderr.strip().splitlines()
    assert "deprecated" in note and "`jobslab scheduler list`" in note
    as_json = jobslab("jobs", "list", "--json", "--scheduler-host-address", s.address,
                      "--state-dir", str(s.state_dir))
    assert json.loads(as_json.stdout)[0]["name"] == "j"


def test_scheduler_serve_runs_the_scheduler(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jobslab", "scheduler", "serve",
                             "--port", str(port), "--state-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        wait_until(lambda: accepts(port) or proc.poll() is not None, what="the scheduler")
        assert proc.poll() is None
        status = json.loads(jobslab("status", "--state-dir", str(tmp_path), "--json").stdout)
        assert [(p["name"], p["port"]) for p in status["processes"]] == [("scheduler", port)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert f"Scheduler listening on 127.0.0.1:{port}" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    moved = jobslab("scheduler", "--port", str(port))
    assert moved.returncode == 2 and "`jobslab scheduler serve`" in moved.stderr
    assert "Traceback" not in moved.stderr


def test_run_takes_daprs_short_flags(s: Stack, app: RecordingApp, tmp_path: Path) -> None:
    port = free_port()
    car = s._start_sidecar(
        [sys.executable, "-m", "jobslab", "run", "-a", "shorty", "-p", str(app.port),
         "-H", str(port), "--scheduler-host-address", s.address, "--state-dir",
         str(s.state_dir)], "shorty", port, None, True)
    s.watching("shorty", 1)
    schedule(car, "hi", {"dueTime": "0s"})
    wait_until(lambda: app.jobs("hi"), what="the trigger")

    components = tmp_path / "components"
    components.mkdir()
    out = jobslab("run", "-a", "d", "-H", str(free_port()), "-d", str(components),
                  "--scheduler-host-address", s.address, "--state-dir", str(tmp_path), "--",
                  sys.executable, "-c", "import sys; sys.exit(4)")
    assert out.returncode == 4
    assert 'Flag --components-path has been deprecated' in out.stderr
    assert 'Use "resources-path" flag instead' in out.stderr


# --- every --help has examples ----------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for sub in action.choices.values():
                if id(sub) not in seen:  # aliases share their parser
                    seen.add(id(sub))
                    yield from _commands(sub)


def test_every_help_has_examples() -> None:
    from jobslab.cli import build_parser

    progs = []
    for parser in _commands(build_parser()):
        progs.append(parser.prog)
        assert "\nExamples:\n" in parser.format_help(), parser.prog
    for expected in ("jobslab scheduler list", "jobslab scheduler serve", "jobslab run",
                     "jobslab jobs list", "jobslab cluster up", "jobslab doctor"):
        assert expected in progs
    out = jobslab("scheduler", "delete-all", "--help")
    assert out.returncode == 0 and "Examples:\n  jobslab scheduler delete-all all" in out.stdout
    assert "jobslab.grading" not in out.stdout + out.stderr


# --- real Dapr: hand over to `dapr` -------------------------------------------------------------

@pytest.fixture
def fake_dapr(tmp_path: Path) -> dict[str, str]:
    """A ``dapr`` on PATH that records its argv; the environment to run jobslab with."""
    return install_dapr_cli(tmp_path)


def calls(env: dict[str, str]) -> list[dict[str, Any]]:
    return records(Path(env["FAKE_DAPR_RECORD"]))


def test_kubernetes_hands_over_to_dapr(fake_dapr: dict[str, str], tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path)]
    out = jobslab("scheduler", "list", "-k", "-o", "wide", *state, env=fake_dapr)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "fake dapr ran\n"
    out = jobslab("scheduler", "get", "app/myapp/myjob", "-n", "prod", "--state-dir",
                  str(tmp_path), env={**fake_dapr, "JOBSLAB_BACKEND": "kind"})
    assert out.returncode == 0, out.stderr
    out = jobslab("sched", "delete-all", "app/myapp", "--kubernetes",
                  "--scheduler-namespace=dapr-system", f"--state-dir={tmp_path}",
                  env={**fake_dapr, "FAKE_DAPR_EXIT": "3"})
    assert out.returncode == 3
    assert [c["argv"] for c in calls(fake_dapr)] == [
        ["scheduler", "list", "-k", "-o", "wide"],
        ["scheduler", "get", "app/myapp/myjob", "-n", "prod", "-k"],
        ["scheduler", "delete-all", "app/myapp", "--kubernetes",
         "--scheduler-namespace=dapr-system"],
    ]


def test_selfhosted_hands_over_with_the_etcd_relayed(fake_dapr: dict[str, str],
                                                     tmp_path: Path) -> None:
    import socketserver
    import threading

    class Etcd(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"etcd got " + self.rfile.read())

    etcd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Etcd)
    threading.Thread(target=etcd.serve_forever, daemon=True).start()
    try:
        env = {**fake_dapr, "JOBSLAB_BACKEND": "selfhosted"}
        state = ["--state-dir", str(tmp_path)]
        not_running = jobslab("scheduler", "list", *state, env=env)
        assert not_running.returncode == 1
        (line,) = not_running.stderr.strip().splitlines()
        assert "self-hosted Scheduler" in line and "is not running" in line
        (tmp_path / "selfhosted").mkdir()
        (tmp_path / "selfhosted" / "ports.json").write_text(
            json.dumps({"etcd_client": etcd.server_address[1]}))
        if not can_bind(2379):  # something else holds dapr's etcd port: say so, in one line
            out = jobslab("scheduler", "list", *state, env=env)
            assert out.returncode == 1 and "localhost:2379" in out.stderr
            assert len(out.stderr.strip().splitlines()) == 1
            return
        out = jobslab("scheduler", "export", "-o", "backup.bin", *state,
                      env={**env, "FAKE_DAPR_DIAL": "ping"})
        assert out.returncode == 0, out.stderr
        assert calls(fake_dapr) == [{"argv": ["scheduler", "export", "-o", "backup.bin"],
                                     "etcd": "etcd got ping"}]
        assert can_bind(2379)  # the relay is gone with dapr
    finally:
        etcd.shutdown()
        etcd.server_close()


@pytest.mark.realdapr
def test_selfhosted_relay_reaches_the_real_scheduler_etcd(fake_dapr: dict[str, str],
                                                          tmp_path: Path) -> None:
    """The real self-hosted Scheduler keeps its etcd on a port of its own; `dapr scheduler`
    dials localhost:2379, and reaches it through the relay (etcd answers HTTP /version on
    its client port)."""
    if not can_bind(2379):
        pytest.skip("port 2379 is taken on this machine")
    with stack(tmp_path, "dapr"):
        out = jobslab("scheduler", "list", "--state-dir", str(tmp_path),
                      env={**fake_dapr, "JOBSLAB_BACKEND": "selfhosted",
                           "FAKE_DAPR_DIAL": "GET /version HTTP/1.0\r\n\r\n"})
    assert out.returncode == 0, out.stderr
    (call,) = calls(fake_dapr)
    assert call["argv"] == ["scheduler", "list"]
    assert call["etcd"].startswith("HTTP/1.0 200") and '"etcdserver"' in call["etcd"]


def test_without_dapr_one_line_says_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    for env, args in (({"JOBSLAB_BACKEND": "selfhosted"}, ["list"]),
                      ({}, ["get", "app/a/b", "-k"]),
                      ({"JOBSLAB_BACKEND": "kind"}, ["import", "-f", "x.bin"])):
        out = jobslab("scheduler", *args, "--state-dir", str(tmp_path),
                      env={**env, "PATH": str(empty)})
        assert out.returncode == 1 and out.stdout == ""
        (line,) = out.stderr.strip().splitlines()
        assert "`dapr` is not on PATH" in line and "Dapr CLI 1.18.0" in line
        assert "1.16.3 or newer" in line and f"dapr scheduler {args[0]}" in line
    bad = jobslab("scheduler", "list", env={"JOBSLAB_BACKEND": "minikube"})
    assert bad.returncode == 1 and "JOBSLAB_BACKEND='minikube' is not a backend" in bad.stderr
