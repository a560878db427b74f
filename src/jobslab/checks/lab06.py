"""Checks of lab 06, managing jobs (``solutions/06-managing-jobs.ipynb``).

The checks look at the jobs as ``GET`` shows them and at the triggers ``jobslab.serve``
recorded. Exercises 2-4 hand over a learner's function; the check calls it on jobs of its own
(created and deleted by the check) as well as looking at what the notebook did. Rules and hints
follow docs/dapr-behaviour.md (Overwrite, GET body, Error table, First fire).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from jobslab import jobs
from jobslab.checks import (
    Fail,
    exercise,
    expect,
    fail,
    job_data,
    job_or_none,
    triggers,
    wait_until,
)

#: Exercise 1: the job fires twice as {"v": 1}, is replaced by {"v": 2} with repeats 4.
TICK_REPEATS = 4
#: Exercise 2: the notebook's report job, and what change_job must turn it into.
REPORT_BEFORE = {"schedule": "0 0 6 * * *", "data": {"to": "ops"}, "failurePolicy": {"drop": {}}}
REPORT_SCHEDULE = "0 0 7 * * *"
#: Exercise 2: the check's own jobs (one without data), and the change applied to each.
PROBES: list[tuple[dict[str, Any], str]] = [
    ({"schedule": "@every 1h", "repeats": 5, "ttl": "24h",
      "failurePolicy": {"constant": {"interval": "0.5s", "maxRetries": 2}}}, "@every 2h"),
    ({"schedule": "0 0 6 * * *", "dueTime": "1h", "data": {"to": "ops", "ids": [1, 2]},
      "failurePolicy": {"drop": {}}}, "0 30 6 * * *"),
]
#: Exercise 3: release 1 fires every 2 s (so an overwrite shows), release 2 changes it.
PERIOD = 2.0
RELEASE_1 = {"schedule": f"@every {PERIOD:g}s", "data": {"task": "digest"},
             "failurePolicy": {"constant": {"interval": "0.5s", "maxRetries": 2}}}
RELEASE_2 = {**RELEASE_1, "schedule": "@every 1h"}
BROKEN = {"schedule": "0 2 * * *"}  # five fields: Dapr answers 500
DEFAULT_POLICY = {"constant": {"interval": "1s", "maxRetries": 3}}


# -- private helpers --------------------------------------------------------------------------

def _definition(job: dict[str, Any]) -> dict[str, Any]:
    """What defines a job, the same for a POST body and a GET answer (as lesson 06 shows)."""
    data = job_data(job) if "name" in job else job.get("data")
    policy = job.get("failurePolicy") or DEFAULT_POLICY
    if "constant" in policy:
        constant = policy["constant"]
        policy = {"constant": {"interval": float(str(constant.get("interval", "0s"))
                                                 .removesuffix("s")),
                               "maxRetries": constant.get("maxRetries")}}
    return {"schedule": job.get("schedule"), "dueTime": job.get("dueTime"),
            "repeats": job.get("repeats"), "ttl": job.get("ttl"),
            "data": data if "data" in job else None, "has_data": "data" in job,
            "failurePolicy": policy}


def _learner(what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a learner's function; turn the usual ways it fails into a hint."""
    try:
        return func(*args, **kwargs)
    except (NotImplementedError, Fail):
        raise
    except Exception as err:
        raise _explain(what, err) from None


def _explain(what: str, err: BaseException) -> BaseException:
    """The Fail (or NotImplementedError) to raise for ``err`` from a learner's function."""
    if isinstance(err, NotImplementedError | Fail):
        return err
    if isinstance(err, httpx.HTTPStatusError):
        status, text = err.response.status_code, err.response.text
    elif isinstance(err, jobs.DaprError):
        status, text = err.status, f"{err.error_code} {err.message}"
    elif isinstance(err, KeyError):
        return Fail(f"{what} raised KeyError {err}: GET's answer has only the fields the job "
                    "has (a job without data has no \"data\"); copy a field only when it is "
                    "there")
    else:
        return Fail(f"{what} raised {type(err).__name__}: {err}")
    if status == 409:
        return Fail(f"{what} raised on Dapr's 409 (the job already exists): overwrite it with "
                    "\"overwrite\": true, or — when it is a start-up's create — read it and "
                    "compare instead of failing")
    if "job not found" in text:
        return Fail(f"{what} raised on GET's 500 \"job not found\": a job that is gone (a "
                    "one-time job that has fired) cannot be read; DELETE answers 204 whether or "
                    "not the job exists, so there is no need to look first")
    if "DAPR_SCHEDULER_JOB_NAME" in text or "url only" in text:
        return Fail(f"{what} sent \"name\" in the body (400 \"Set the job name in the url "
                    "only\"): GET's answer has a name, a POST body must not; copy only "
                    "schedule, dueTime, repeats, ttl, data and failurePolicy")
    if "ERR_MALFORMED_REQUEST" in text:
        return Fail(f"Dapr could not decode the body {what} sent (400 ERR_MALFORMED_REQUEST): "
                    "send the fields as GET shows them, with data unwrapped")
    return Fail(f"{what} raised on an answer {status} from Dapr: {' '.join(text.split())[:120]}")


def _ports(handle: Any) -> list[int]:
    if handle is None or not getattr(handle, "replicas", None):
        raise Fail("pass the handle that jobslab.serve(...) returned (handle=handle)")
    return [replica.dapr_http_port for replica in handle.replicas]


def _post(port: int, name: str, body: dict[str, Any]) -> None:
    httpx.post(f"http://127.0.0.1:{port}/v1.0/jobs/{name}", json={**body, "overwrite": True},
               timeout=35).raise_for_status()


def _compare(name: str, before: dict[str, Any], schedule: str, port: int) -> None:
    """Job ``name`` was ``before`` and change_job(schedule=...) ran: say what went wrong."""
    job = job_or_none(name, port=port)
    expect(job is not None, f"change_job deleted {name}: it must overwrite the job, not delete it")
    assert job is not None
    got, want = _definition(job), _definition({**before, "schedule": schedule})
    old = before["schedule"]
    expect(got["schedule"] != old, f"{name}'s schedule is still {old!r}: did change_job's POST "
                                   "answer 204? (r.raise_for_status() says when it did not)")
    expect(got["schedule"] == schedule,
           f"{name}'s schedule is {got['schedule']!r}, not the {schedule!r} it was changed to")
    if want["has_data"]:
        data = got["data"]
        if isinstance(data, dict) and "@type" in data:
            fail(f"{name}'s data is wrapped twice ({json.dumps(data)[:80]}…): GET wraps data in "
                 "a protobuf Value; send back stored[\"data\"][\"value\"]")
        expect(got["has_data"], f"{name} lost its data {before['data']!r}: an overwrite "
                                "replaces the whole job; send the data back (unwrapped)")
        expect(data == want["data"], f"{name}'s data is {data!r}, was {want['data']!r}")
    elif got["has_data"]:
        fail(f"{name} had no data and now has data {got['data']!r}: leave \"data\" out when "
             "GET shows none (a trigger would bring the body 'null' instead of an empty one)")
    if got["failurePolicy"] != want["failurePolicy"]:
        if got["failurePolicy"] == _definition({})["failurePolicy"]:
            fail(f"{name}'s failure policy fell back to Dapr's default (1 s, 3 retries): an "
                 "overwrite replaces the whole job; send \"failurePolicy\" back")
        fail(f"{name}'s failure policy is {job.get('failurePolicy')}, was "
             f"{before['failurePolicy']}")
    for field in ("dueTime", "repeats", "ttl"):
        if got[field] != want[field]:
            fail(f"{name}'s {field} was {want[field]!r} and is now {got[field]!r}: an overwrite "
                 "replaces the whole job; send back every field GET shows")


# -- the exercises ----------------------------------------------------------------------------

@exercise("06.1", title="an overwrite replaces the job and starts its count again")
def overwrite(*, handle: Any, name: str, predicted: Any) -> None:
    port = _ports(handle)[0]
    if not triggers(handle, name) and job_or_none(name, port=port) is None:
        fail(f"no trigger of {name} arrived: run the exercise's cell")
    finished = wait_until(lambda: job_or_none(name, port=port) is None, timeout=4.0,
                          interval=0.1)
    bodies = [json.loads(t["body"]) if t["body"] else None for t in triggers(handle, name)]
    first, second = bodies.count({"v": 1}), bodies.count({"v": 2})
    if second == 0:
        fail(f"no trigger carried {{\"v\": 2}}: {name} was never replaced. A POST for a job "
             "that exists answers 409 and changes nothing, unless its body has "
             "\"overwrite\": true")
    expect(finished, f"{name} was still firing after 4 s ({second} triggers of v2 so far): "
                     f"give the replacement the same schedule and \"repeats\": {TICK_REPEATS}")
    expect(second == TICK_REPEATS,
           f"the replacement fired {second} times: with \"repeats\": {TICK_REPEATS} a replaced "
           f"job fires {TICK_REPEATS} times, because an overwrite starts the count again; give "
           "it the same schedule and repeats as the first")
    if predicted is None:
        raise NotImplementedError
    expect(predicted == 2 + TICK_REPEATS,
           f"predicted_total is {predicted!r}, but {name} fired {first + second} times: {first} "
           f"before the overwrite, then {second}. The overwrite reset the count, so repeats "
           f"{TICK_REPEATS} started again from 0")


@exercise("06.2", title="change_job changes one field and keeps everything else")
def change(*, handle: Any, name: str, change_job: Callable[..., Any]) -> None:
    port = _ports(handle)[0]
    if not callable(change_job):
        fail("pass your function (change_job=change_job)")
    probes = [f"{name}-probe-{i}" for i in range(1, len(PROBES) + 1)]
    try:
        for probe, (before, schedule) in zip(probes, PROBES, strict=True):
            _post(port, probe, before)
            what = (f"change_job({probe!r}, {port}, schedule={schedule!r}) on a job "
                    f"{'with' if 'data' in before else 'without'} data")
            _learner(what, change_job, probe, port, schedule=schedule)
            _compare(probe, before, schedule, port)
    finally:
        for probe in probes:
            jobs.delete(probe, port=port)
    report = job_or_none(name, port=port)
    expect(report is not None, f"there is no job {name}: run the exercise's cells from the first")
    _compare(name, REPORT_BEFORE, REPORT_SCHEDULE, port)


@exercise("06.3", title="ensure_job creates, keeps an unchanged job, updates a changed one",
          points=2)
def ensure(*, handle: Any, name: str, ensure_job: Callable[..., Any]) -> None:
    ports = _ports(handle)
    ports = (ports * 3)[:3]  # three start-ups, one per replica
    if not callable(ensure_job):
        fail("pass your function (ensure_job=ensure_job)")
    jobs.delete(name, port=ports[0])
    try:
        _replay(handle, name, ensure_job, ports)
    finally:
        jobs.delete(name, port=ports[0])
        jobs.delete(name + "-broken", port=ports[0])


def _replay(handle: Any, name: str, ensure_job: Callable[..., Any], ports: list[int]) -> None:
    start = dt.datetime.now(dt.UTC)
    # Release 1, replica 0 starts: the job does not exist yet.
    first = _learner("ensure_job (replica 0's start-up)", ensure_job, ports[0], name, RELEASE_1)
    created = time.monotonic()
    job = job_or_none(name, port=ports[0])
    expect(job is not None, f"after the first start-up there is no job {name}: POST the spec "
                            "without overwrite; 204 means you created it")
    assert job is not None
    expect(_definition(job) == _definition(RELEASE_1),
           f"the job the first start-up made is {json.dumps(job)[:120]}, not the spec: send the "
           "spec as it is")
    expect(first == "created", f"the job did not exist and the first start-up returned {first!r}: "
                               "POST without \"overwrite\" first; 204 means it created the job "
                               "(return \"created\"), 409 that the job was there already")

    # One second later replicas 1 and 2 start together: the job must be kept as it is.
    time.sleep(max(0.0, created + PERIOD / 2 - time.monotonic()))
    others_at = dt.datetime.now(dt.UTC)
    results: dict[int, Any] = {}
    errors: dict[int, BaseException] = {}

    def start_up(i: int) -> None:
        try:
            results[i] = ensure_job(ports[i], name, RELEASE_1)
        except BaseException as err:  # reported below, in the check's thread
            errors[i] = err

    threads = [threading.Thread(target=start_up, args=(i,), daemon=True) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    for i, err in sorted(errors.items()):
        raise _explain(f"ensure_job (replica {i}'s start-up, the job already there)", err)
    again_at = others_at + dt.timedelta(seconds=PERIOD)  # an overwritten job fires no earlier

    def fired() -> list[dict[str, Any]]:
        return [t for t in triggers(handle, name) if t["received"] >= start]

    wait_until(fired, timeout=max(0.0, (again_at - dt.datetime.now(dt.UTC)).total_seconds()))
    on_time = [t for t in fired() if t["received"] < again_at]
    kept = [results.get(1), results.get(2)]
    expect(on_time, f"the job did not fire {PERIOD:g} s after it was created: a later start-up "
                    f"replaced it (they returned {kept}), and an overwrite moves an @every job's "
                    "first fire. Keep a job whose definition is unchanged: on 409 compare "
                    "definition(stored) with definition(spec)")
    expect(kept == ["kept", "kept"], f"the job was kept, but the later start-ups returned "
                                     f"{kept}: return \"kept\" when the definitions are equal")

    # Release 2: a rolling deploy (one replica after another), then each restarts once more.
    rolled = [_learner("ensure_job (release 2)", ensure_job, port, name, RELEASE_2)
              for port in ports + ports]
    job = job_or_none(name, port=ports[0])
    expect(job is not None, f"after release 2's start-ups there is no job {name}")
    assert job is not None
    expect(_definition(job) == _definition(RELEASE_2),
           f"release 2's schedule never took effect (still {job.get('schedule')!r}; the "
           f"start-ups returned {rolled}): when the job exists with another definition, "
           "overwrite it")
    expect(rolled == ["updated"] + ["kept"] * 5,
           f"six start-ups of release 2 returned {rolled}; the first should update the job and "
           "the five others keep it: overwrite only when the definitions differ")

    # A spec Dapr refuses must not pass for a start-up that worked.
    try:
        answer = ensure_job(ports[0], name + "-broken", BROKEN)
    except NotImplementedError:
        raise
    except Exception:  # raising is right
        return
    fail(f"Dapr refuses {BROKEN} (500, five fields), yet ensure_job returned {answer!r}: raise "
         "on any answer but 204 and 409 (r.raise_for_status()), so a broken start-up shows")


@exercise("06.4", title="delete_prefix deletes the trial jobs and keeps the others")
def delete_by_prefix(*, handle: Any, delete_prefix: Callable[..., Any], names: list[str],
                     prefix: str) -> None:
    port = _ports(handle)[0]
    if not callable(delete_prefix):
        fail("pass your function (delete_prefix=delete_prefix)")
    wanted = [n for n in names if n.startswith(prefix)]
    others = [n for n in names if not n.startswith(prefix)]
    kept_before = [n for n in others if job_or_none(n, port=port) is not None]
    expect(kept_before, "the jobs to keep are missing: run the cell that creates the jobs")
    returned = _learner(f"delete_prefix({port}, names, {prefix!r})", delete_prefix,
                        port, list(names), prefix)
    still = [n for n in wanted if job_or_none(n, port=port) is not None]
    expect(not still, f"still there: {', '.join(still)}; send DELETE /v1.0/jobs/<name> for each "
                      f"name in names that starts with {prefix!r}")
    lost = [n for n in kept_before if job_or_none(n, port=port) is None]
    expect(not lost, f"deleted {', '.join(lost)} too: it does not start with {prefix!r} "
                     "(name.startswith(prefix))")
    expect(isinstance(returned, list | tuple) and sorted(returned) == sorted(wanted),
           f"delete_prefix returned {returned!r}; return the names it deleted, {wanted}")
