"""Checks of lab 07, Jobs vs bindings (``solutions/07-jobs-vs-bindings.ipynb``).

Three exercises on an "inventory" service with three replicas:

- 07.1 a ``bindings.cron`` component that every sidecar loads and that fires on every replica,
  although the app refuses daprd's ``OPTIONS`` probe (``direction: input``);
- 07.2 a binding's 5-field schedule in the sidecars' local time, moved to a job: the job Dapr
  stored must fire at exactly the binding's instants, winter and summer (compared with the
  schedule engine);
- 07.3 a per-replica duty migrated to one job: the binding gone from every sidecar, the job
  triggered once per tick.

What a sidecar loaded is read from ``GET /v1.0/metadata`` (``components``), which real daprd
and the stand-in both answer; the rules are in docs/dapr-behaviour.md#cron-bindings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jobslab.checks import Fail, exercise, expect, fail, job_or_none, triggers, wait_until

#: The legacy digest binding of exercise 2, and the time zone its sidecars ran in.
DIGEST_BINDING_SCHEDULE = "30 18 * * 1-5"
SIDECAR_ZONE = "America/New_York"
#: Exercise 3's job: data, and how many ticks.
EXPORT_DATA = {"export": "audit-log"}
EXPORT_TICKS = 3
#: How long exercise 3's check waits for the job's ticks (three at 1 s, and some slack).
WAIT = 5.0


def _replicas(handle: Any) -> list[Any]:
    if handle is None or not getattr(handle, "replicas", None):
        raise Fail("pass the handle that jobslab.serve(...) returned (handle=handle); run the "
                   "serve cell above first")
    return list(handle.replicas)


def _cron_components(port: int) -> set[str]:
    """Names of the ``bindings.cron`` components the sidecar on ``port`` loaded."""
    import httpx

    from jobslab import jobs

    try:
        meta = httpx.get(f"{jobs.base_url(port)}/v1.0/metadata", headers=jobs._headers(),
                         timeout=5).json()
    except (httpx.HTTPError, ValueError):
        raise Fail(f"no Dapr sidecar answers on port {port}: run the serve cell above "
                   "again") from None
    return {str(c.get("name")) for c in meta.get("components") or []
            if str(c.get("type", "")).startswith("bindings.cron")}


def _loaded(handle: Any) -> list[set[str]]:
    return [_cron_components(r.dapr_http_port) for r in _replicas(handle)]


@exercise("07.1", title="the cron binding is loaded by every sidecar and fires on every replica")
def binding_on_every_replica(*, handle: Any, name: str) -> None:
    loaded = _loaded(handle)
    if not any(loaded):
        fail("the sidecars loaded no cron binding: cron_component must return a Component "
             "whose spec.type is bindings.cron (version v1) with a 'schedule' metadata item; "
             "then run the cells that write the files and serve the app again")
    missing = [i for i, names in enumerate(loaded) if name not in names]
    if missing:
        others = sorted(set().union(*loaded) - {name})
        fail(f"the sidecars loaded the cron binding(s) {others} but none named {name!r}: "
             "metadata.name must be the name argument (it is also the route daprd calls)")
    count = len(loaded)

    def fired_on() -> set[int]:
        return {int(r["replica"]) for r in triggers(handle, name) if r["status"] == 200}

    if not wait_until(lambda: len(fired_on()) == count, timeout=3.0):
        rows = triggers(handle, name)
        refused = [r for r in rows if r["status"] not in (200, 405)]
        if rows and not fired_on() and refused:
            fail(f"each sidecar probed OPTIONS /{name} at start-up, the app's middleware "
                 f"answered {refused[0]['status']}, and daprd gave up on the binding: add the "
                 "metadata item direction: input, which makes daprd skip the probe")
        if not rows:
            fail(f"{name!r} is loaded but did not call the app within 3 s: is the schedule the "
                 "schedule argument ('@every 1s')? A 5-field '* * * * *' fires once a minute")
        fail(f"{name!r} fired on replica(s) {sorted(fired_on())} of {count} within 3 s: "
             "serve the app again and rerun this check")


def _binding_fires(start: datetime, n: int) -> list[int]:
    from jobslab import schedules

    parsed = schedules.parse(DIGEST_BINDING_SCHEDULE, seconds_optional=True)
    ns, out = schedules.datetime_to_ns(start), []
    for _ in range(n):
        ns = parsed.next_ns(ns, default_zone=ZoneInfo(SIDECAR_ZONE))
        out.append(ns)
    return out


def _job_fires(schedule: str, start: datetime, n: int) -> list[int]:
    from jobslab import schedules

    return [schedules.datetime_to_ns(t)
            for t in schedules.job_fires(schedule=schedule, created=start, n=n)]


def _when(ns: int) -> str:
    from jobslab import schedules

    t = schedules.ns_to_datetime(ns)
    local = t.astimezone(ZoneInfo(SIDECAR_ZONE))
    return f"{t:%a %d %b %H:%M:%S} UTC ({local:%H:%M:%S} in New York)"


# Winter, the US spring-forward night (8 March 2026), summer, the fall-back night (1 November).
_SEASONS = {"winter": datetime(2026, 1, 5, tzinfo=UTC),
            "spring": datetime(2026, 3, 2, tzinfo=UTC),
            "summer": datetime(2026, 7, 1, tzinfo=UTC),
            "autumn": datetime(2026, 10, 26, tzinfo=UTC)}


@exercise("07.2", title="the digest job fires exactly when the binding did, winter and summer")
def binding_schedule_as_job(*, handle: Any, name: str) -> None:
    port = _replicas(handle)[0].dapr_http_port
    job = job_or_none(name, port=port)
    expect(job is not None,
           f"there is no job {name!r}: POST it to /v1.0/jobs/{name} and check that Dapr answers "
           f"204 — the binding's 5-field {DIGEST_BINDING_SCHEDULE!r} is refused (500 \"expected "
           "exactly 6 fields\"): a job's schedule has six fields, seconds first")
    assert job is not None
    schedule = str(job.get("schedule") or "")
    expect(schedule, f"{name!r} has no schedule (dueTime {job.get('dueTime')!r}): the digest "
                     "is recurring, so give the job a \"schedule\"")
    wrong: dict[str, tuple[int, int]] = {}
    for season, start in _SEASONS.items():
        want, got = _binding_fires(start, 15), _job_fires(schedule, start, 15)
        differ = [(w, g) for w, g in zip(want, got, strict=True) if w != g]
        if differ:
            wrong[season] = differ[0]
    if not wrong:
        return
    if ("winter" in wrong) != ("summer" in wrong):  # one half of the year is right
        season = "summer" if "summer" in wrong else "winter"
        right = "winter" if season == "summer" else "summer"
        want, got = wrong[season]
        fail(f"right in {right}, but in {season} the binding fired at {_when(want)} and the "
             f"job at {_when(got)}: a fixed UTC hour misses daylight saving time — keep the "
             f"wall-clock time and prefix CRON_TZ={SIDECAR_ZONE}")
    want, got = next(iter(wrong.values()))
    hours = (got - want) / 3_600e9
    if hours and abs(hours) < 24 and (2 * hours).is_integer():  # the right time, another zone
        fail(f"the binding fired at {_when(want)}, the job at {_when(got)}: the binding ran in "
             f"the sidecars' local time ({SIDECAR_ZONE}), a job runs in UTC unless a prefix "
             f"names a zone — CRON_TZ={SIDECAR_ZONE} …")
    fail(f"the binding fired at {_when(want)}, the job at {_when(got)}: a job's six fields "
         "are second minute hour day-of-month month day-of-week — the binding's five start at "
         "the minute")


@exercise("07.3", title="the export runs as one job, once per tick, and its binding is gone")
def duty_moved_to_a_job(*, handle: Any, name: str, keep: str) -> None:
    loaded = _loaded(handle)
    still = [i for i, names in enumerate(loaded) if name in names]
    expect(not still, f"the sidecars still load the binding {name!r} (replicas {still}), so "
                      f"every replica still exports: delete its component file, {name}.yaml, "
                      "before serving again — daprd reads the folder only at start-up")
    route = f"/job/{name}"

    def fired() -> list[dict[str, Any]]:
        return [r for r in triggers(handle, name) if r["route"] == route]

    wait_until(lambda: len(fired()) >= EXPORT_TICKS, timeout=WAIT)
    seen = fired()
    expect(seen, f"no trigger of the job {name!r} arrived within {WAIT:g} s: "
                 f"schedule it through one sidecar, POST /v1.0/jobs/{name} with \"schedule\": "
                 f"\"@every 1s\" and \"repeats\": {EXPORT_TICKS} (after the serve cell above)")
    expect(len(seen) >= EXPORT_TICKS,
           f"{len(seen)} trigger(s) of {name!r} within {WAIT:g} s: schedule "
           f"\"@every 1s\" with \"repeats\": {EXPORT_TICKS}")
    wait_until(lambda: len(fired()) > EXPORT_TICKS, timeout=1.3)  # a fourth would be wrong
    seen = fired()
    expect(len(seen) == EXPORT_TICKS,
           f"{name!r} triggered {len(seen)} times: \"repeats\": {EXPORT_TICKS} stops it after "
           f"{EXPORT_TICKS} ticks")
    for row in seen:
        expect(row["status"] == 200, f"a trigger was answered {row['status']}: the app's "
                                     f"{route} route answers 200 — run the serve cell again")
        try:
            body = json.loads(row["body"]) if row["body"] else None
        except ValueError:
            body = row["body"]
        expect(body == EXPORT_DATA, f"the trigger's body was {row['body']!r}: send "
                                    f"{json.dumps(EXPORT_DATA)} as the job's \"data\" (a "
                                    "binding could not carry any)")
    expect(all(keep in names for names in loaded),
           f"the job is right, but no sidecar loads the binding {keep!r}: the cache refresh "
           f"is per replica and stays a binding — keep its file, delete only {name}.yaml")
