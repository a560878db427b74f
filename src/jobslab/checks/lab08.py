"""Checks of lab 08, the capstone (``solutions/08-capstone-task-api.ipynb``).

A todo service in SQLite with a nightly cleanup job, on three replicas:

- 08.1 the cleanup handler deletes exactly the completed todos older than ``olderThanDays``
  (called in-process on a freshly seeded table, with 40 and then 30 days, then once more);
- 08.2 the nightly job Dapr stored: 04:30:00 UTC every day, the data, the failure policy;
- 08.3 ``ensure_job``: three replicas starting at once leave one job; a restart does not
  overwrite an unchanged job (its ``repeats`` would start again), a changed one is replaced;
- 08.4 a one-time job runs the cleanup now: one trigger across three replicas, answered 200,
  the stale rows gone, the nightly job untouched.

The rules are in docs/dapr-behaviour.md (#error-table, #overwrite, #failure-policy,
#auto-deletion); the schedule is compared with the schedule engine's fire times.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from jobslab.checks import (
    Fail,
    call_app,
    exercise,
    expect,
    fail,
    job_data,
    job_or_none,
    triggers,
    wait_until,
)

DAY = timedelta(days=1)
NIGHTLY_DATA = {"olderThanDays": 30}
NIGHTLY_POLICY = {"constant": {"interval": "120s", "maxRetries": 5}}
#: The job exercise 3's check creates with the learner's ensure_job: its ``repeats`` show
#: whether a restart overwrote it (an overwrite starts the count again).
PROBE = {"schedule": "@every 1s", "repeats": 3, "data": {"probe": "ensure_job"},
         "failurePolicy": {"drop": {}}}


# --- the database -----------------------------------------------------------------------------

def _rows(db_path: Any) -> dict[int, dict[str, Any]]:
    try:
        with closing(sqlite3.connect(db_path, timeout=10)) as con:
            con.row_factory = sqlite3.Row
            return {int(r["id"]): dict(r) for r in con.execute("SELECT * FROM todos")}
    except sqlite3.Error as err:
        raise Fail(f"cannot read the todos from {db_path}: {err} — run the database cell "
                   "above again") from None


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _stale(row: dict[str, Any], days: int, now: datetime) -> bool:
    """Completed, and completed more than ``days`` days before ``now``."""
    completed = _when(row.get("completed_at"))
    return bool(row.get("done")) and completed is not None and completed < now - days * DAY


def _ago(text: str | None, now: datetime) -> str:
    t = _when(text)
    return "never" if t is None else f"{(now - t) // DAY} days ago"


def _deleted_wrongly(rows: list[dict[str, Any]], days: int, now: datetime) -> str:
    """The hint for the most telling of the rows that were deleted but should have stayed."""
    def completed(row: dict[str, Any]) -> datetime:
        return _when(row.get("completed_at")) or now

    def created(row: dict[str, Any]) -> datetime:
        return _when(row.get("created_at")) or now

    for row in rows:
        if not row.get("done"):
            return (f"deleted the open todo {row['title']!r} (completed once "
                    f"{_ago(row['completed_at'], now)}, then reopened): only completed todos "
                    "go — done = 1")
    for row in rows:
        if completed(row) > now - 30 * DAY and created(row) < now - days * DAY:
            return (f"deleted {row['title']!r}, completed {_ago(row['completed_at'], now)} "
                    f"(created {_ago(row['created_at'], now)}): compare completed_at, not "
                    "created_at")
    for row in rows:
        if days > 30 and completed(row) < now - 30 * DAY:
            return (f"with olderThanDays {days} it deleted {row['title']!r}, completed "
                    f"{_ago(row['completed_at'], now)}: take the days from the job's data "
                    "(data.olderThanDays), not a fixed 30")
    row = rows[0]
    return (f"with olderThanDays {days} it deleted {row['title']!r}, completed "
            f"{_ago(row['completed_at'], now)}: keep what was completed after now − {days} days")


# --- 08.1 --------------------------------------------------------------------------------------

def _run_cleanup(app: Any, name: str, body: Any, days: Any) -> None:
    response = call_app(app, "POST", f"/job/{name}", json=body)
    code = response.status_code
    if code == 500:
        fail(f"the handler raised (500) when called with olderThanDays {days}: run its body by "
             "hand to see the error")
    expect(200 <= code < 300,
           f"the handler answered {code} (olderThanDays {days}): Dapr retries anything but 2xx "
           "and 404 — return normally, FastAPI then answers 200")


@exercise("08.1", title="the cleanup deletes exactly the completed todos older than the cutoff")
def cleanup_handler(*, app: Any, name: str, db_path: Any, seed: Callable[[], Any]) -> None:
    seed()  # a known history, whatever ran before
    try:
        before = _rows(db_path)
        expect(before, "the todos table is empty after seed(): run the database cells above "
                       "again")
        gone_total: set[int] = set()
        for days in (40, 30):
            now = datetime.now(UTC)
            want = {i for i, r in before.items() if _stale(r, days, now)}
            _run_cleanup(app, name, {"olderThanDays": days}, days)
            gone = set(before) - set(_rows(db_path))
            wrong, kept = sorted(gone - want), sorted(want - gone)
            if wrong and kept:
                fail(f"with olderThanDays {days} it deleted {before[wrong[0]]['title']!r} "
                     f"(completed {_ago(before[wrong[0]]['completed_at'], now)}) and kept "
                     f"{before[kept[0]]['title']!r} (completed "
                     f"{_ago(before[kept[0]]['completed_at'], now)}): the other way round — "
                     "delete what was completed before the cutoff (completed_at < cutoff)")
            if wrong:
                fail(_deleted_wrongly([before[i] for i in wrong], days, now))
            if kept and not gone:
                fail(f"nothing was deleted with olderThanDays {days}: delete the todos with "
                     f"done = 1 whose completed_at is before now − {days} days (completed_at "
                     "is UTC ISO text as iso() writes it: compare it with iso(cutoff))")
            if kept:
                row = before[kept[0]]
                fail(f"with olderThanDays {days} it kept {row['title']!r}, completed "
                     f"{_ago(row['completed_at'], now)}: delete every done todo completed "
                     f"before now − {days} days")
            gone_total = gone
        _run_cleanup(app, name, {"olderThanDays": 30}, "30, a second time")
        again = set(before) - set(_rows(db_path))
        expect(again == gone_total, "a second run deleted more: with the same data it must "
                                    "find nothing left to delete")
    finally:
        seed()  # leave the lab's history as the notebook expects it


# --- 08.2 --------------------------------------------------------------------------------------

def _dapr_verdict(definition: dict[str, Any], name: str, port: int) -> str | None:
    """Dapr's error for ``definition``, scheduled under a scratch name; None when accepted."""
    import httpx

    from jobslab import jobs

    url = f"{jobs.base_url(port)}/v1.0/jobs/{name}"
    try:
        response = httpx.post(url, json={**definition, "overwrite": True},
                              headers=jobs._headers(), timeout=35)
    except httpx.HTTPError:
        return None
    if response.status_code == 204:
        httpx.delete(url, headers=jobs._headers(), timeout=35)
        return None
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text
    return f"{response.status_code} {message.split('job failed validation: ')[-1]}"


def _fire_times(schedule: str, start: datetime, n: int) -> list[datetime]:
    from jobslab import schedules

    return schedules.job_fires(schedule=schedule, created=start, n=n)


@exercise("08.2", title="the nightly job runs at 04:30 UTC daily with its data and retry policy")
def nightly_job(*, handle: Any, name: str, definition: Callable[[], dict[str, Any]]) -> None:
    port = handle.dapr_http_port
    job = job_or_none(name, port=port)
    if job is None:
        wanted = definition()
        expect(isinstance(wanted, dict), f"nightly_job() returned {type(wanted).__name__}: "
                                         "return the job's JSON body as a dict")
        verdict = _dapr_verdict(wanted, f"{name}-check", port)
        if verdict and "6 fields" in verdict:
            fail(f"Dapr refuses nightly_job()'s schedule ({verdict}): a job's schedule has six "
                 "fields, seconds first")
        if verdict and "Duration" in verdict:
            fail(f"Dapr refuses nightly_job()'s failure policy ({verdict}): an interval is "
                 "decimal seconds with an 's', such as '120s' — '2m' is malformed")
        if verdict:
            fail(f"Dapr refuses nightly_job(): {verdict}")
        fail(f"Dapr accepts nightly_job(), but there is no job {name!r}: run the cell that "
             "schedules it")
    assert job is not None
    schedule = str(job.get("schedule") or "")
    expect(schedule, f"{name!r} has no schedule: a nightly job needs \"schedule\" (a dueTime "
                     "alone runs once)")
    for start in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)):
        fires = _fire_times(schedule, start, 4)
        if {f"{t:%H:%M:%S}" for t in fires} != {"04:30:00"}:
            hint = ("in UTC means no zone prefix: a zone moves the hour (and with daylight "
                    "saving time)" if schedule.startswith(("TZ=", "CRON_TZ=")) else
                    "the first of the six fields is seconds: second minute hour day-of-month "
                    "month day-of-week")
            when = ", ".join(f"{t:%a %d %b %H:%M:%S}" for t in fires[:2])
            fail(f"{schedule!r} fires at {when} UTC, …: it should fire at 04:30:00 UTC — {hint}")
        gaps = {b - a for a, b in pairwise(fires)}
        expect(gaps == {DAY}, f"{schedule!r} fires on {', '.join(f'{t:%a %d %b}' for t in fires)}"
                              ": it should run every day (day-of-month, month and weekday '*')")
    data = job_data(job)
    expect(data == NIGHTLY_DATA, f"its data is {data!r}: send {NIGHTLY_DATA} — the handler "
                                 "reads the days from it")
    policy = job.get("failurePolicy")
    if policy == {"constant": {"interval": "1s", "maxRetries": 3}}:
        fail("it has Dapr's default failure policy (1 s, 3 retries): add \"failurePolicy\": "
             "{\"constant\": {...}} with a 2-minute interval and 5 retries")
    constant = (policy or {}).get("constant") or {}
    expect(constant, f"its failure policy is {policy}: retrying needs a \"constant\" policy "
                     "(\"drop\" never retries)")
    expect(constant.get("interval") == "120s",
           f"its retry interval is {constant.get('interval')!r}: 2 minutes is \"120s\"")
    expect(constant.get("maxRetries") == 5,
           f"its maxRetries is {constant.get('maxRetries')!r}: at most 5 retries after the "
           "first attempt is \"maxRetries\": 5")


# --- 08.3 --------------------------------------------------------------------------------------

def _delete(name: str, port: int) -> None:
    from jobslab import jobs

    jobs.delete(name, port=port)


@exercise("08.3", title="ensure_job: one job from three start-ups, never a needless overwrite",
          points=2)
def ensure_on_start_up(*, handle: Any, name: str, ensure: Callable[..., Any]) -> None:
    ports = [r.dapr_http_port for r in handle.replicas]
    probe = f"{name}-probe"
    _delete(probe, ports[0])
    errors: list[BaseException] = []

    def start(port: int) -> None:
        try:
            ensure(probe, dict(PROBE), port=port)
        except Exception as err:  # NotImplementedError too: reported by the check
            errors.append(err)

    try:
        threads = [threading.Thread(target=start, args=(p,)) for p in ports]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        for err in errors:
            if isinstance(err, NotImplementedError):
                raise err
        if errors:
            text = str(errors[0]).strip().splitlines()[0].split(" for url ")[0][:120]
            fail(f"{len(errors)} of {len(ports)} replicas' start-up raised "
                 f"({type(errors[0]).__name__}: {text}): the job exists after the first — a "
                 "409 means \"already scheduled\": compare, don't raise")
        expect(job_or_none(probe, port=ports[0]) is not None,
               "three start-ups of a new job left no job: ensure_job must POST it when it is "
               "missing")
        expect(job_or_none(name, port=ports[0]) is not None,
               f"there is no job {name!r} after the start-up cell: read its results — "
               "ensure_job must create a missing job (POST answers 204), and nightly_job() "
               "(exercise 2) must work")
        route = f"/job/{probe}"

        def fired() -> list[dict[str, Any]]:
            return [r for r in triggers(handle, probe) if r["route"] == route]

        expect(wait_until(fired, timeout=3.0), f"the job ensure_job created ({PROBE}) never "
                                               "fired: send the job as given, without changes")
        ensure(probe, dict(PROBE), port=ports[0])  # a replica restarts, the job unchanged
        wait_until(lambda: len(fired()) >= PROBE["repeats"], timeout=4.0)
        wait_until(lambda: len(fired()) > PROBE["repeats"], timeout=1.5)  # more is wrong
        count = len(fired())
        expect(count <= PROBE["repeats"],
               f"a restart replaced the unchanged job: it fired {count} times for \"repeats\": "
               f"{PROBE['repeats']}, because an overwrite starts the count again — overwrite "
               "only when the stored job differs (GET adds \"name\" and wraps \"data\" in "
               "{\"@type\": …, \"value\": …}: compare the fields you send)")
        changed = f"{name}-changed"
        from jobslab import jobs

        jobs.schedule(changed, "@every 1h", data={"v": 1}, overwrite=True, port=ports[0])
        ensure(changed, {"schedule": "@every 2h", "data": {"v": 1}}, port=ports[0])
        stored = job_or_none(changed, port=ports[0]) or {}
        _delete(changed, ports[0])
        expect(stored.get("schedule") == "@every 2h",
               f"a stored job on '@every 1h' asked for as '@every 2h' was left at "
               f"{stored.get('schedule')!r}: when the stored job differs, replace it "
               "(\"overwrite\": true)")
    finally:
        _delete(probe, ports[0])


def _json_or_text(text: str | None) -> Any:
    import json

    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


# --- 08.4 --------------------------------------------------------------------------------------

@exercise("08.4", title="a one-time job runs the cleanup once across the three replicas")
def cleanup_now(*, handle: Any, name: str, nightly: str, db_path: Any) -> None:
    def seen() -> list[dict[str, Any]]:
        return [r for r in triggers(handle, name) if r["route"] == f"/job/{name}"]

    expect(wait_until(seen, timeout=4.0),
           f"no trigger of {name!r} arrived within 4 s: POST /v1.0/jobs/{name} with a "
           "\"dueTime\" (\"1s\", or \"0s\" for at once) and the nightly job's data")
    first = seen()[0]
    body = _json_or_text(first["body"])
    if first["status"] == 422:
        fail(f"the handler answered 422 to the body {first['body']!r}: FastAPI could not read "
             f"it as CleanupData — send {NIGHTLY_DATA} as the job's data")
    expect(first["status"] == 200, f"the handler answered {first['status']} (so Dapr retries "
                                   "it): exercise 1's cleanup must answer 200")
    wait_until(lambda: len(seen()) > 1, timeout=1.2)  # a second would be wrong
    rows = seen()
    expect(len(rows) == 1, f"{name!r} triggered {len(rows)} times: a one-time job has a "
                           "\"dueTime\" and no \"schedule\" or \"repeats\"")
    now = datetime.now(UTC)
    left = [r for r in _rows(db_path).values() if _stale(r, 30, now)]
    if body != NIGHTLY_DATA:
        still = (f", and {left[0]['title']!r} (completed {_ago(left[0]['completed_at'], now)}) "
                 "is still there" if left else "")
        fail(f"the cleanup ran with the data {first['body'] or 'none'}{still}: test with the "
             f"nightly job's data, {NIGHTLY_DATA}")
    if left:
        fail(f"the trigger carried {NIGHTLY_DATA} and was answered 200, but "
             f"{left[0]['title']!r} (completed {_ago(left[0]['completed_at'], now)}) is still "
             "there: exercise 1's handler must delete it (its check says what is wrong)")
    job = job_or_none(nightly, port=handle.dapr_http_port)
    expect(job is not None and job.get("schedule"),
           f"the nightly job {nightly!r} is gone or changed: test with the separate one-time "
           f"job {name!r} and leave the nightly one alone (run exercise 3's start-up cell to "
           "bring it back)")
