"""Checks of lab 03, Schedules (``solutions/03-schedules.ipynb``).

Each answer is judged by behaviour, never by its text: the check schedules it on the learner's
own sidecar as a probe job, deleted at once, to hear whether Dapr accepts it (a schedule is sent
with a dueTime an hour away and one repeat, so it cannot fire meanwhile; a fire plan of
exercise 5 is sent as written), then compares its fire times
with those of a right answer, both computed by the schedule engine (``jobslab.schedules``,
Dapr 1.18.3's rules). So ``0 0 23 * * 0`` is as right as ``0 0 23 * * SUN``, and
``0 30 1 * * *`` is a right answer for "once a night between 02:00 and 04:00 Berlin time".
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from jobslab.checks import exercise, expect, fail

BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")

#: Exercise 1: requirement key -> (the requirement, a right answer).
REQUIREMENTS = {
    "standup": ("07:45:00 UTC, Monday to Friday", "0 45 7 * * MON-FRI"),
    "sync": ("every 10 minutes on the clock: hh:00:00, hh:10:00, hh:20:00, …",
             "0 */10 * * * *"),
    "weekly": ("Sundays at 23:00:00 UTC", "0 0 23 * * SUN"),
    "payroll": ("12:00:00 UTC on the 1st of every month, and on every Friday",
                "0 0 12 1 * FRI"),
    "poll": ("every 90 minutes, counted from the moment the job is created", "@every 90m"),
}
#: Exercise 2: Monday 08:00 in Sydney, all year.
SYDNEY_RIGHT = "CRON_TZ=Australia/Sydney 0 0 8 * * MON"
#: Exercise 3: once a night, between 02:00 and 04:00 Berlin time, Berlin's DST nights included.
NIGHT_FROM, NIGHT_TO = time(2, 0), time(4, 0)
NIGHTS = ((date(2026, 1, 12), date(2026, 1, 15)),
          (date(2026, 3, 27), date(2026, 3, 31)),
          (date(2026, 10, 23), date(2026, 10, 27)))
SPRING_FORWARD, FALL_BACK = date(2026, 3, 29), date(2026, 10, 25)
#: Exercise 4: key -> (croniter's expression, what croniter 7.0 fires on, a Dapr schedule).
LEGACY = {
    "office": ("*/15 9-17 * * 1-5", "0 */15 9-17 * * 1-5"),
    "sunday": ("0 3 * * 7", "0 0 3 * * 0"),
    "weekend": ("0 22 * * 5-1", "0 0 22 * * 0,1,5,6"),
    "morning": ("30 8 * * * 15", "15 30 8 * * *"),
}
#: Exercise 5: plan key -> a job that fires as the plan says, whenever it is created.
PLANS = {
    "warmup": {"schedule": "@every 10m", "dueTime": "30s", "repeats": 4},
    "window": {"schedule": "0 0 * * * *", "dueTime": "1h", "ttl": "2h30m"},
}
#: Creation instants the plans are computed from (a Monday morning).
PLAN_CREATED = (datetime(2026, 1, 5, 10, 20, tzinfo=UTC),
                datetime(2026, 1, 5, 10, 40, tzinfo=UTC),
                datetime(2026, 1, 5, 10, 0, 0, 500_000, tzinfo=UTC))

_STARTS = (datetime(2026, 1, 1, tzinfo=UTC),
           datetime(2026, 5, 29, 11, 59, 59, 500_000, tzinfo=UTC),
           datetime(2026, 6, 13, 10, 7, 13, 250_000, tzinfo=UTC))


# --- private helpers -------------------------------------------------------------------------

def _port(handle: Any) -> int:
    port = getattr(handle, "dapr_http_port", None)
    if not port:
        fail("pass the handle that jobslab.serve(...) returned (handle=handle)")
    return int(port)


def _when(t: datetime, zone: ZoneInfo | timezone = UTC) -> str:
    """'Mon 05 Jan 08:00:00 AEDT' (milliseconds only when there are some)."""
    t = t.astimezone(zone)
    ms = f".{t.microsecond // 1000:03d}" if t.microsecond else ""
    return t.strftime("%a %d %b %H:%M:%S") + ms + " " + (t.tzname() or "")


def _whens(times: list[datetime], zone: ZoneInfo | timezone = UTC, n: int = 3) -> str:
    return ", ".join(_when(t, zone) for t in times[:n]) + (", …" if len(times) > n else "")


def _offset(delta: timedelta) -> str:
    """'+1h30m', '+30s', '+0.5s': a time after creation, in Go's duration words."""
    total = delta.total_seconds()
    s, frac = int(total), total - int(total)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    sec = f"{s + frac:g}s" if (s or frac) else ""
    text = "".join(f"{v}{u}" for v, u in ((d, "d"), (h, "h"), (m, "m")) if v) + sec
    return "+" + (text or "0s")


def _fires(schedule: str, start: datetime, n: int) -> list[datetime]:
    from jobslab import schedules

    return schedules.job_fires(schedule=schedule, created=start, n=n)


def _answer(answers: Any, key: str, what: str) -> str:
    if not isinstance(answers, dict):
        fail(f"pass your {what} dict to the check, as the check cell does")
    return _string(answers.get(key), f"{what}[{key!r}]")


def _string(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(f"{label} is {value!r}: write its schedule there, as a string")
    return value


def _dapr_says(port: int, name: str, body: dict[str, Any]) -> str | None:
    """POST ``body`` as the probe ``name`` and delete it again: None when Dapr accepts it
    (204), else Dapr's message, from 'job failed validation: ' on when it has one."""
    from jobslab import jobs

    fields = {k: body.get(k) for k in ("schedule", "dueTime", "ttl", "repeats", "data")}
    try:
        jobs.schedule(name, fields["schedule"], due_time=fields["dueTime"], ttl=fields["ttl"],
                      repeats=fields["repeats"], data=fields["data"], overwrite=True, port=port)
    except jobs.DaprError as err:
        if err.status == 0:
            fail(f"no Dapr sidecar answers on port {port}: run the setup cells first")
        return err.message.split("job failed validation: ")[-1]
    finally:
        with contextlib.suppress(jobs.DaprError):
            jobs.delete(name, port=port)
    return None


def _probe_schedule(port: int, name: str, schedule: str) -> str | None:
    """Dapr's verdict on ``schedule``, posted so that the probe can never fire."""
    return _dapr_says(port, name, {"schedule": schedule, "dueTime": "1h", "repeats": 1})


def _refusal(label: str, schedule: str, message: str) -> str:
    """A hint for a schedule Dapr refused with ``message``."""
    found = re.search(r"expected exactly 6 fields, found (\d+)", message)
    if found and found[1] == "5":
        return (f"{label}: {schedule!r} has five fields, crontab's minute-first form — Dapr "
                "refuses it (500); it wants six, SECONDS first")
    if found and found[1] == "1":
        return (f"{label}: {schedule!r} is not a schedule (Dapr: 'expected exactly 6 fields, "
                "found 1'); a fixed delay is written '@every <duration>', e.g. '@every 2h45m'")
    if found:
        return (f"{label}: {schedule!r} has {found[1]} fields; Dapr wants exactly six, "
                "seconds first")
    if re.search(r"above maximum \(6\): \S*7", message):
        return (f"{label}: {schedule!r} uses weekday 7, which Dapr refuses: its weekdays are "
                "0-6, and Sunday is 0 (or SUN)")
    if "beyond end of range" in message:
        return (f"{label}: Dapr refuses {schedule!r} ({message}): a range may not wrap "
                "around; list the values instead (FRI,SAT,SUN,MON)")
    if "unrecognized descriptor" in message:
        return f"{label}: {message} — descriptors are lower-case words: @daily, @weekly, …"
    if "bad location" in message:
        return (f"{label}: {message} — a zone prefix takes an IANA name such as "
                "Europe/Berlin or Australia/Sydney")
    return f"{label}: Dapr refuses {schedule!r}: {message}"


def _zone_name(schedule: str) -> str | None:
    from jobslab import schedules

    try:
        return schedules.parse(schedule).zone_name
    except schedules.ScheduleError:
        return None


# --- exercise 1 ------------------------------------------------------------------------------

def _requirement_hint(key: str, schedule: str, got: list[datetime], want: list[datetime],
                      start: datetime) -> str:
    what = REQUIREMENTS[key][0]
    created = f"created {_when(start)}"
    if key == "poll" and not schedule.lstrip().startswith("@every"):
        return (f"poll: {schedule!r} fires on the clock ({_whens(got)}); 'counted from "
                "creation' is a fixed delay: '@every <duration>'")
    if key == "sync" and schedule.lstrip().startswith("@every"):
        return (f"sync: @every counts from creation — {created}, {schedule!r} fires at "
                f"{_whens(got, n=2)}; 'on the clock' is a cron expression")
    if key != "poll" and any(t.second != 0 for t in got):
        return (f"{key}: {schedule!r} fires at {_whens(got)}: the first of Dapr's six fields "
                "is the SECOND, then minute, hour, day of month, month, weekday")
    if key == "payroll":
        many = _fires(schedule, start, 40)
        if all(t.day == 1 for t in many):
            return ("payroll: it fires only on the 1st; it must fire on Fridays too. With both "
                    "day fields restricted, Dapr fires when EITHER one matches")
        if all(t.weekday() == 4 for t in many):
            return ("payroll: it fires only on Fridays; it must fire on the 1st too. With both "
                    "day fields restricted, Dapr fires when EITHER one matches")
    return (f"{key}: {created}, {schedule!r} fires at {_whens(got)}; '{what}' fires at "
            f"{_whens(want)}")


@exercise("03.1", title="five plain-English requirements, five schedules that fire as asked")
def requirements(*, handle: Any, prefix: str, answers: Any) -> None:
    from jobslab import schedules

    port = _port(handle)
    for key, (_, right) in REQUIREMENTS.items():
        schedule = _answer(answers, key, "SCHEDULES")
        refused = _probe_schedule(port, f"{prefix}probe-{key}", schedule)
        if refused:
            fail(_refusal(key, schedule, refused))
        if schedules.parse(schedule).never_matches:
            fail(f"{key}: {schedule!r} matches no date at all — Dapr then fires it back to "
                 "back, not never")
        for start in _STARTS:
            got, want = _fires(schedule, start, 10), _fires(right, start, 10)
            if got != want:
                fail(_requirement_hint(key, schedule, got, want, start))


# --- exercise 2 ------------------------------------------------------------------------------

_SEASONS = (("January", datetime(2026, 1, 1, tzinfo=UTC)),
            ("July", datetime(2026, 7, 1, tzinfo=UTC)),
            ("April, when daylight saving ends", datetime(2026, 3, 30, tzinfo=UTC)),
            ("October, when daylight saving starts", datetime(2026, 9, 28, tzinfo=UTC)))


@exercise("03.2", title="Monday 08:00 in Sydney, in summer and in winter")
def sydney(*, handle: Any, prefix: str, schedule: Any) -> None:
    port = _port(handle)
    schedule = _string(schedule, "SYDNEY_STANDUP")
    refused = _probe_schedule(port, f"{prefix}probe-sydney", schedule)
    if refused:
        fail(_refusal("SYDNEY_STANDUP", schedule, refused))
    wrong = []
    for season, start in _SEASONS:
        got, want = _fires(schedule, start, 4), _fires(SYDNEY_RIGHT, start, 4)
        if got != want:
            wrong.append((season, got))
    if not wrong:
        return
    season, got = wrong[0]
    if _zone_name(schedule) is None and all(
            t.astimezone(UTC).strftime("%a %H:%M:%S") == "Mon 08:00:00" for t in got):
        fail(f"{schedule!r} has no zone prefix, so Dapr reads it in UTC: Monday 08:00 UTC is "
             f"{_whens(got, SYDNEY, 1)} in Sydney. Put CRON_TZ=Australia/Sydney in front")
    if len(wrong) < len(_SEASONS):
        fail(f"right in some months only: in {season} it fires at {_whens(got, SYDNEY, 2)} "
             "Sydney time. A fixed UTC time moves an hour on Sydney's clock with daylight "
             "saving; let a CRON_TZ= prefix convert")
    fail(f"in {season} it fires at {_whens(got, SYDNEY, 2)} Sydney time; the stand-up is "
         "Monday 08:00:00 in Sydney")


# --- exercise 3 ------------------------------------------------------------------------------

def _night_fires(schedule: str, first: date, last: date) -> list[datetime]:
    """Every fire from noon (Berlin) before the night of ``first`` to noon after ``last``."""
    start = datetime.combine(first - timedelta(days=1), time(12), BERLIN)
    end = datetime.combine(last, time(12), BERLIN)
    fires = [t for t in _fires(schedule, start, 60) if t <= end]
    return fires


@exercise("03.3", title="the nightly job runs once a night between 02:00 and 04:00 Berlin time")
def nightly(*, handle: Any, prefix: str, schedule: Any) -> None:
    port = _port(handle)
    schedule = _string(schedule, "NIGHTLY")
    refused = _probe_schedule(port, f"{prefix}probe-nightly", schedule)
    if refused:
        fail(_refusal("NIGHTLY", schedule, refused))
    utc_note = (" — without a TZ=/CRON_TZ= prefix Dapr reads it in UTC, and Berlin is UTC+1 "
                "in winter, UTC+2 in summer") if _zone_name(schedule) is None and not (
                    schedule.lstrip().startswith("@every")) else ""
    for first, last in NIGHTS:
        fires = _night_fires(schedule, first, last)
        local = [t.astimezone(BERLIN) for t in fires]
        outside = [t for t in local if not NIGHT_FROM <= t.time() < NIGHT_TO]
        expect(not outside, f"it fires at {_when(outside[0], BERLIN) if outside else ''} "
                            f"Berlin time; the job must run between 02:00 and 04:00 Berlin "
                            f"time{utc_note}")
        per_night = Counter(t.date() for t in local)
        night = first
        while night <= last:
            count = per_night.get(night, 0)
            day = night.strftime("%a %d %b %Y")
            if count == 0 and night == SPRING_FORWARD:
                fail(f"no fire in the night of {day}: Berlin's clocks jump from 02:00 to "
                     "03:00 that night, so 02:xx never happens — choose a time outside "
                     "02:00-03:00")
            if count > 1 and night == FALL_BACK:
                fail(f"it fires {count} times in the night of {day}: Berlin's clocks go back "
                     "from 03:00 to 02:00 that night, so 02:xx happens twice — choose a time "
                     "outside 02:00-03:00")
            expect(count == 1, f"it fires {count} times in the night of {day}; the job must "
                               "run exactly once a night")
            night += timedelta(days=1)


# --- exercise 4 ------------------------------------------------------------------------------

@exercise("03.4", title="four croniter expressions rewritten in Dapr's grammar, same fire times")
def from_croniter(*, handle: Any, prefix: str, answers: Any) -> None:
    port = _port(handle)
    for key, (legacy, right) in LEGACY.items():
        schedule = _answer(answers, key, "FIXED")
        refused = _probe_schedule(port, f"{prefix}probe-{key}", schedule)
        if refused and key == "morning" and "above maximum (6)" in refused:
            fail(f"morning: Dapr refuses {schedule!r} ({refused}): croniter's six fields put "
                 "the SECONDS LAST (its default), Dapr's put them FIRST")
        if refused and key == "weekend" and "beyond end of range" in refused:
            fail(f"weekend: Dapr refuses {schedule!r} ({refused}): croniter wraps 5-1 around "
                 "the end of the week, Dapr never does — list the days instead")
        if refused:
            fail(_refusal(key, schedule, refused))
        for start in (_STARTS[0], _STARTS[2]):
            got, want = _fires(schedule, start, 12), _fires(right, start, 12)
            if got == want:
                continue
            if any(a.replace(second=0) == b.replace(second=0) and a != b
                   for a, b in zip(got, want, strict=False)) or (
                       any(t.second for t in got) and not any(t.second for t in want)):
                fail(f"{key}: {schedule!r} fires at {_whens(got, n=2)}, croniter's {legacy!r} "
                     f"at {_whens(want, n=2)}: look at the seconds — the FIRST of Dapr's six "
                     "fields")
            fail(f"{key}: {schedule!r} fires at {_whens(got)}; croniter fires {legacy!r} at "
                 f"{_whens(want)}")


# --- exercise 5 ------------------------------------------------------------------------------

_PLAN_TEXT = {
    "warmup": "+30s, then every 10 minutes, 4 fires in all",
    "window": "+1h, then every full hour, none later than 2h30m after the first",
}


def _plan(body: dict[str, Any], created: datetime, n: int) -> list[datetime]:
    from jobslab import schedules

    def field(*names: str) -> Any:
        return next((body[k] for k in names if k in body), None)

    return schedules.job_fires(created=created, n=n, schedule=field("schedule"),
                               due_time=field("dueTime", "due_time"), ttl=field("ttl"),
                               repeats=field("repeats"))


@exercise("03.5", title="two jobs whose dueTime, repeats and ttl give the required fire plans")
def fire_plans(*, handle: Any, prefix: str, plans: Any) -> None:
    from jobslab import schedules

    port = _port(handle)
    if not isinstance(plans, dict):
        fail("pass your PLANS dict to the check, as the check cell does")
    for key, right in PLANS.items():
        body = plans.get(key)
        expect(isinstance(body, dict) and body,
               f"PLANS[{key!r}] is {body!r}: write the job's body there as a dict "
               '({"schedule": …, "dueTime": …, …})')
        refused = _dapr_says(port, f"{prefix}probe-{key}", body)
        if refused:
            fail(f"{key}: Dapr refuses {body}: {refused}")
        outcomes = []
        for created in PLAN_CREATED:
            want = _plan(right, created, 20)
            try:
                got = _plan(body, created, len(want) + 1)
            except schedules.ScheduleError as err:  # Dapr accepted it, so this is unlikely
                fail(f"{key}: {err}")
            outcomes.append((created, got, want))
        wrong = [o for o in outcomes if o[1] != o[2]]
        if not wrong:
            continue
        created, got, want = wrong[0]
        at = f"created at {created:%H:%M:%S}" + (".5" if created.microsecond else "")
        shown = ", ".join(_offset(t - created) for t in got[:6]) + (", …" if len(got) > 6 else "")
        plan = ", ".join(_offset(t - created) for t in want)
        if not got:
            fail(f"{key}: {at}, it never fires — its first tick is already after its ttl; "
                 f"the plan is {plan}")
        if got[0] != want[0]:
            fail(f"{key}: {at}, its first fire is at {_offset(got[0] - created)}; the plan says "
                 f"{_offset(want[0] - created)}. The first fire is at dueTime (without one, at "
                 "the schedule's first match after creation)")
        if len(got) > len(want) and "ttl" in body:
            fail(f"{key}: {at}, it fires at {shown}; the plan is {plan}. A relative ttl "
                 "counts from dueTime when there is one, not from creation")
        if len(got) > len(want) and "repeats" not in body:
            fail(f"{key}: {at}, it fires at {shown} — it does not stop after the plan's "
                 f"{len(want)} fires: stop it with repeats (a count) or a ttl (an end time)")
        if len(got) != len(want) and "repeats" in body and len(wrong) == len(outcomes):
            fail(f"{key}: {at}, it fires at {shown}; the plan is {plan}. repeats: N means N "
                 "fires in all, the one at dueTime included")
        if len(wrong) < len(outcomes) and "repeats" in body and "ttl" not in body:
            fail(f"{key}: {at}, it fires at {shown}; the plan is {plan}. From another creation "
                 "time the window holds another number of fires: a count (repeats) cannot "
                 "follow a time window, a ttl can")
        fail(f"{key}: {at}, it fires at {shown}; the plan is {plan} ({_PLAN_TEXT[key]})")
