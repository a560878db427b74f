"""Checks of lab 02, the Jobs API (``solutions/02-jobs-api.ipynb``).

Every check asks the learner's own sidecar (``handle.dapr_http_port``) what the code did, or
calls the learner's function against it with probe jobs the check creates and deletes. Fire
times are compared with the schedule engine (``jobslab.schedules``, Dapr's rules), never the
text of a schedule, so ``0 30 6 * * 1`` is as right as ``0 30 6 * * MON``.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jobslab.checks import exercise, expect, fail, job_data, job_or_none

#: Exercise 1: the weekly report.
WEEKLY_SCHEDULE = "0 30 6 * * MON"
WEEKLY_DATA = {"report": "weekly", "format": "pdf"}
#: Exercise 2: the meeting, and the reminder 15 minutes before it.
BERLIN = ZoneInfo("Europe/Berlin")
MEETING = datetime(2031, 3, 14, 10, 0, tzinfo=BERLIN)
REMINDER_AT = MEETING - timedelta(minutes=15)
REMINDER_DATA = {"text": "meeting in 15 minutes"}
#: Exercise 5: the job an operator changed, which start-up code must keep.
OPS_SCHEDULE = "0 0 3 * * *"
OPS_DATA = {"task": "cleanup", "set_by": "ops"}

#: Creation instants the schedule of exercise 1 is compared from (a Thursday, a Monday just
#: before 06:30, and a Sunday night).
_STARTS = (datetime(2026, 1, 1, tzinfo=UTC),
           datetime(2026, 3, 2, 6, 29, 59, 500_000, tzinfo=UTC),
           datetime(2026, 6, 14, 23, 0, tzinfo=UTC))


# --- private helpers -------------------------------------------------------------------------

def _port(handle: Any) -> int:
    port = getattr(handle, "dapr_http_port", None)
    if not port:
        fail("pass the handle that jobslab.serve(...) returned (handle=handle)")
    return int(port)


def _when(t: datetime) -> str:
    """'Mon 02 Mar 06:30:00 UTC'."""
    return t.astimezone(UTC).strftime("%a %d %b %H:%M:%S UTC")


def _fires(schedule: str, start: datetime, n: int = 8) -> list[datetime]:
    from jobslab import schedules

    return schedules.job_fires(schedule=schedule, created=start, n=n)


def _data_hint(data: Any, want: Any) -> str:
    """Why ``data`` (unwrapped from GET) is not ``want``."""
    if data is None:
        return f'it has no data: put {want!r} under "data" in the POST body'
    if isinstance(data, str):
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        if parsed == want:
            return ("its data is a JSON *string*: you sent json.dumps(...) — put the dict "
                    'itself under "data", httpx encodes the whole body with json=')
    return f'its data is {data!r}; send {want!r} as the job\'s "data"'


def _schedule(port: int, name: str, body: dict[str, Any]) -> None:
    from jobslab import jobs

    jobs.schedule(name, body.get("schedule"), due_time=body.get("dueTime"),
                  data=body.get("data"), overwrite=True, port=port)


def _delete(port: int, *names: str) -> None:
    from jobslab import jobs

    for name in names:
        with contextlib.suppress(jobs.DaprError):
            jobs.delete(name, port=port)


def _call(func: Any, what: str, *args: Any) -> Any:
    """Call the learner's ``func``; a stub's NotImplementedError goes through (the check then
    says "not answered yet"), any other exception becomes a Fail naming the call."""
    if not callable(func):
        fail(f"pass your function ({what}) to the check, as the check cell does")
    try:
        return func(*args)
    except NotImplementedError:
        raise
    except Exception as err:  # the learner's code raised
        raise _Raised(err) from err


class _Raised(Exception):
    """The learner's function raised ``err``."""

    def __init__(self, err: Exception) -> None:
        super().__init__(str(err))
        self.err = err

    @property
    def status(self) -> int | None:
        response = getattr(self.err, "response", None)
        return getattr(response, "status_code", None)

    def describe(self) -> str:
        if self.status is not None:  # httpx's raise_for_status: the status says it all
            return f"{type(self.err).__name__} ({self.status})"
        text = " ".join(str(self.err).split())
        text = text if len(text) <= 90 else text[:89] + "…"
        return f"{type(self.err).__name__}: {text}" if text else type(self.err).__name__


# --- exercise 1 ------------------------------------------------------------------------------

@exercise("02.1", title="the weekly report job runs Mondays at 06:30:00 UTC with its data")
def weekly_report(*, handle: Any, name: str) -> None:
    port = _port(handle)
    job = job_or_none(name, port=port)
    expect(job is not None,
           f"there is no job {name!r}: your POST did not answer 204 — print r.status_code and "
           "r.text. A 500 'expected exactly 6 fields' is crontab's five fields; a 400 "
           "'malformed' is data= where json= belongs")
    assert job is not None
    schedule = job.get("schedule")
    expect(schedule, f"{name!r} has no schedule, so it would fire only once: send "
                     '"schedule" (six fields, seconds first)')
    extra = [f for f in ("dueTime", "repeats", "ttl") if f in job]
    expect(not extra, f"{name!r} also has {', '.join(extra)}: a job that runs every week "
                      'needs only "schedule" and "data"')
    for start in _STARTS:
        got, want = _fires(schedule, start), _fires(WEEKLY_SCHEDULE, start)
        if got == want:
            continue
        if any(t.second != 0 for t in got):
            fail(f"{schedule!r} fires at {_when(got[0])}, {_when(got[1])}, …: the first of "
                 "Dapr's six fields is the SECOND, then minute, hour, day, month, weekday")
        fail(f"{schedule!r} fires at {_when(got[0])}, {_when(got[1])}, {_when(got[2])}, …; "
             "the report must run every Monday at 06:30:00 UTC, and only then")
    data = job_data(job)
    expect(data == WEEKLY_DATA, _data_hint(data, WEEKLY_DATA))


# --- exercise 2 ------------------------------------------------------------------------------

_SAMPLES = (
    REMINDER_AT,
    datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 9, 30, tzinfo=ZoneInfo("Asia/Kolkata")),
    datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN),  # the second 02:30 (CET) that night
)


def _rfc3339_hint(t: datetime, text: Any) -> str | None:
    """None when ``text`` is an RFC 3339 timestamp Dapr reads as the instant ``t``."""
    from jobslab import schedules

    shown = f"rfc3339({t.isoformat()})"
    if not isinstance(text, str):
        return f"{shown} returned {type(text).__name__} {text!r}: return the timestamp as a str"
    try:
        ns = schedules.parse_rfc3339(text)
    except schedules.GoTimeError:
        if re.match(r"^\d{4}-\d\d-\d\d \d", text):
            return (f"{shown} gave {text!r}: str(datetime) puts a space between date and time; "
                    "RFC 3339 wants a 'T' (t.isoformat() writes it), or Dapr answers 500 "
                    "'due time format not recognized'")
        if re.search(r"[+-]\d{4}$", text):
            return (f"{shown} gave {text!r}: the offset needs a colon, +01:00 (strftime's %z "
                    "writes +0100), or Dapr answers 500 'due time format not recognized'")
        if re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+$", text):
            return (f"{shown} gave {text!r}, which has no offset: Dapr cannot tell which "
                    "instant that is and answers 500. End it with Z (UTC) or +hh:mm")
        return (f"{shown} gave {text!r}, which is not RFC 3339 "
                "(2031-03-14T09:45:00+01:00): Dapr would answer 500 'due time format not "
                "recognized'")
    got = schedules.ns_to_datetime(ns)
    if got != t.astimezone(UTC):
        return (f"{shown} gave {text!r}, which is {_when(got)} — the instant is "
                f"{_when(t)}. The offset must belong to the clock time: convert to UTC "
                "before writing Z (t.astimezone(timezone.utc)), or keep t's own offset")
    return None


@exercise("02.2", title="the reminder is a one-time job due 15 minutes before the meeting")
def one_time_reminder(*, handle: Any, name: str, rfc3339: Any) -> None:
    from jobslab import schedules

    port = _port(handle)
    for t in _SAMPLES:
        try:
            text = _call(rfc3339, "rfc3339=rfc3339", t)
        except _Raised as raised:
            fail(f"rfc3339({t.isoformat()}) raised {raised.describe()}: it must turn any "
                 "timezone-aware datetime into a timestamp string")
        hint = _rfc3339_hint(t, text)
        if hint:
            fail(hint)
    job = job_or_none(name, port=port)
    expect(job is not None,
           f"there is no job {name!r}: POST it with \"dueTime\": rfc3339(...) and check that "
           "the answer is 204 (print r.status_code and r.text)")
    assert job is not None
    expect("schedule" not in job,
           f"{name!r} has a schedule ({job.get('schedule')!r}), so it repeats: a one-time "
           'job has only a "dueTime"')
    due = job.get("dueTime")
    expect(due, f"{name!r} has no dueTime: send \"dueTime\": rfc3339(<the reminder's time>)")
    try:
        due_at = schedules.ns_to_datetime(schedules.parse_rfc3339(due))
    except schedules.GoTimeError:
        fail(f"its dueTime is {due!r}, a duration counted from now: this exercise wants the "
             "instant itself, written by your rfc3339()")
    expect(due_at == REMINDER_AT.astimezone(UTC),
           f"its dueTime {due!r} is {_when(due_at)}; the reminder is due 15 minutes before "
           f"the meeting, at {_when(REMINDER_AT)} ({REMINDER_AT:%H:%M} in Berlin)")
    data = job_data(job)
    expect(data == REMINDER_DATA, _data_hint(data, REMINDER_DATA))


# --- exercise 3 ------------------------------------------------------------------------------

_DATA_PROBES: tuple[tuple[str, Any], ...] = (
    ("dict", {"db": "orders", "tables": ["items", "payments"]}),
    ("text", "hello"),
    ("list", [1, 2.5, "three"]),
    ("number", 42),
)


@exercise("02.3", title="stored_data(name) returns a job's data, unwrapped, or None")
def stored_data_check(*, handle: Any, prefix: str, stored_data: Any) -> None:
    port = _port(handle)
    names = [f"{prefix}probe-data-{kind}" for kind, _ in _DATA_PROBES]
    bare = f"{prefix}probe-data-none"
    try:
        for name, (_, data) in zip(names, _DATA_PROBES, strict=True):
            _schedule(port, name, {"schedule": "@every 1h", "data": data})
        _schedule(port, bare, {"schedule": "@every 1h"})
        for name, (_, data) in zip(names, _DATA_PROBES, strict=True):
            try:
                got = _call(stored_data, "stored_data=stored_data", name)
            except _Raised as raised:
                fail(f"stored_data({name!r}) raised {raised.describe()}; the job exists with "
                     f"data {data!r}. GET it and return r.json()[\"data\"][\"value\"]")
            if got == data:
                continue
            if isinstance(got, dict) and "@type" in got:
                fail(f"stored_data({name!r}) returned the wrapper {got!r}: GET wraps data in "
                     'a protobuf Value; your data is under its "value"')
            if isinstance(got, dict) and ("name" in got or "failurePolicy" in got):
                fail(f"stored_data({name!r}) returned the whole job; return only its data, "
                     'unwrapped: r.json()["data"]["value"]')
            if isinstance(got, str | bytes) and not isinstance(data, str):
                fail(f"stored_data({name!r}) returned text ({got!r:.60}): parse the answer "
                     "with r.json() and return the data as Python values")
            fail(f"stored_data({name!r}) returned {got!r}; that job was scheduled with data "
                 f"{data!r}")
        try:
            got = _call(stored_data, "stored_data=stored_data", bare)
        except _Raised as raised:
            fail(f"stored_data({bare!r}) raised {raised.describe()} for a job scheduled without "
                 'data: GET then has no "data" field at all — return None for it')
        expect(got is None, f"stored_data({bare!r}) returned {got!r} for a job scheduled "
                            "without data; return None")
    finally:
        _delete(port, *names, bare)


# --- exercise 4 ------------------------------------------------------------------------------

@exercise("02.4", title="the old report is deleted, and job_exists tells 200 from 'job not found'")
def deleted_and_gone(*, handle: Any, name: str, job_exists: Any) -> None:
    port = _port(handle)
    probe = f"{name}-probe"
    try:
        _schedule(port, probe, {"schedule": "@every 1h"})
        try:
            there = _call(job_exists, "job_exists=job_exists", probe)
        except _Raised as raised:
            fail(f"job_exists({probe!r}) raised {raised.describe()} for a job that exists "
                 "(GET answers 200)")
        expect(there is True, f"job_exists({probe!r}) returned {there!r} for a job that "
                              "exists; return True (a bool) when GET answers 200")
        _delete(port, probe)
        try:
            there = _call(job_exists, "job_exists=job_exists", probe)
        except _Raised as raised:
            if raised.status == 500:
                fail(f"job_exists({probe!r}) raised {raised.describe()} for a missing job: "
                     "Dapr answers 500 with 'job not found' in the message (not 404) — "
                     "return False for exactly that answer")
            fail(f"job_exists({probe!r}) raised {raised.describe()} for a missing job; "
                 "return False when the GET's 500 says 'job not found'")
        expect(there is not True,
               f"job_exists({probe!r}) said True for a job that does not exist: a missing "
               "job is 500 with 'job not found' in the message, not 404")
        expect(there is False, f"job_exists({probe!r}) returned {there!r} for a missing job; "
                               "return False (a bool)")
    finally:
        _delete(port, probe)
    expect(job_or_none(name, port=port) is None,
           f"{name!r} is still there: DELETE /v1.0/jobs/{name} (it answers 204), then "
           "job_exists shows it is gone")


# --- exercise 5 ------------------------------------------------------------------------------

_FIRST = {"schedule": "@every 1h", "data": {"version": 1}}
_SECOND = {"schedule": "@every 2h", "data": {"version": 2}}


@exercise("02.5", title="ensure_job creates a missing job and keeps an existing one")
def create_or_keep(*, handle: Any, name: str, ensure_job: Any) -> None:
    port = _port(handle)
    probe, bad = f"{name}-probe", f"{name}-probe-bad"
    _delete(port, probe, bad)
    try:
        try:
            created = _call(ensure_job, "ensure_job=ensure_job", probe, dict(_FIRST))
        except _Raised as raised:
            fail(f"ensure_job({probe!r}, {_FIRST}) raised {raised.describe()} for a job that "
                 "did not exist yet: POST it (204)")
        job = job_or_none(probe, port=port)
        expect(job is not None and job.get("schedule") == _FIRST["schedule"],
               f"after ensure_job({probe!r}, {_FIRST}) there is no such job: POST the body "
               "to /v1.0/jobs/<name>")
        expect(created is True, f"ensure_job returned {created!r} when it created the job; "
                                "return True then")
        try:
            created = _call(ensure_job, "ensure_job=ensure_job", probe, dict(_SECOND))
        except _Raised as raised:
            if raised.status == 409:
                fail(f"ensure_job raised {raised.describe()} for a job that exists: Dapr's 409 "
                     "Conflict is exactly the 'keep' case — return False for it")
            fail(f"ensure_job raised {raised.describe()} for a job that exists; Dapr answers "
                 "409 (not 400) — return False for it")
        job = job_or_none(probe, port=port)
        expect(job is not None, f"after the second ensure_job({probe!r}, …) the job is gone: "
                                "keep an existing job, never delete it")
        assert job is not None
        expect(job.get("schedule") == _FIRST["schedule"] and job_data(job) == _FIRST["data"],
               f"the second ensure_job({probe!r}, …) replaced the job: \"overwrite\": true "
               "(or DELETE then POST) replaces it and resets its count; create-or-keep must "
               "leave it as it is")
        expect(created is False, f"ensure_job returned {created!r} for a job that already "
                                 "existed; return False then")
        try:
            kept = _call(ensure_job, "ensure_job=ensure_job", bad, {"schedule": "*/5 * * * *"})
        except _Raised:
            kept = "raised"
        expect(kept == "raised",
               f"ensure_job returned {kept!r} for a five-field schedule that Dapr refused "
               "with 500: only 409 means 'it exists' — let every other error raise "
               "(r.raise_for_status())")
    finally:
        _delete(port, probe, bad)
    job = job_or_none(name, port=port)
    expect(job is not None, f"{name!r} is gone: start-up code must never delete it; run the "
                            "cells from the one that creates it")
    assert job is not None
    expect(job.get("schedule") == OPS_SCHEDULE and job_data(job) == OPS_DATA,
           f"your start-up call replaced {name!r}, which an operator had changed to "
           f"{OPS_SCHEDULE!r}: create-or-keep must leave an existing job alone")
