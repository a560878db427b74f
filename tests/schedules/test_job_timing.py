"""When a whole job fires, and which jobs the Scheduler refuses (docs/dapr-behaviour.md#timing,
docs/dapr-behaviour.md#validation-order, docs/dapr-behaviour.md#time-zone)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import islice, pairwise

import pytest

from jobslab.schedules import JobTiming, ScheduleError, job_fires, next_after, parse_rfc3339
from support.schedules import job_fire_strings, next_fires, utc

T0 = "2026-01-01T00:00:00Z"


def build_error(**fields: object) -> ScheduleError:
    with pytest.raises(ScheduleError) as info:
        JobTiming.build(created=parse_rfc3339(T0), **fields)  # type: ignore[arg-type]
    return info.value


# --- first fire, cadence --------------------------------------------------------------


def test_creation_time_never_fires() -> None:
    """First fire = Next(creation); creation itself never
    fires, even when it matches the cron."""
    assert job_fire_strings(T0, 2, schedule="0 0 0 * * *") == [
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
    ]
    assert job_fire_strings(T0, 1, schedule="* * * * * *") == ["2026-01-01T00:00:01Z"]


def test_every_first_fire_is_creation_plus_delay() -> None:
    """`@every 10s` first fires at creation + 10s, then every 10s."""
    assert job_fire_strings(T0, 3, schedule="@every 10s") == [
        "2026-01-01T00:00:10Z",
        "2026-01-01T00:00:20Z",
        "2026-01-01T00:00:30Z",
    ]


def test_every_keeps_cadence_from_scheduled_times() -> None:
    """Later fires are Next(last *scheduled* time), so a late trigger does not
    shift the cadence: the tick after a 12:00:10 tick is 12:00:20 however late it ran."""
    timing = JobTiming.build(schedule="@every 10s", created=utc(2026, 1, 1, 12))
    first = timing.next_ns(0, None)
    assert first == parse_rfc3339("2026-01-01T12:00:10Z")
    assert timing.next_ns(1, first) == parse_rfc3339("2026-01-01T12:00:20Z")
    ticks = list(islice(timing.iter_ns(), 50))
    assert {b - a for a, b in pairwise(ticks)} == {10 * 1_000_000_000}


def test_due_time_fires_first_even_off_schedule() -> None:
    """With schedule + dueTime the first fire is at dueTime even when it does not
    match the cron; then Next(dueTime)."""
    assert job_fire_strings(
        T0, 3, schedule="0 0 9 * * *", due_time="2026-01-01T03:17:00Z"
    ) == ["2026-01-01T03:17:00Z", "2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z"]


def test_every_with_due_time_zero_fires_at_once() -> None:
    """Dapr's test `duetime.go`: `@every 1m` with dueTime `0s` fires at creation, then
    every minute from there."""
    assert job_fire_strings(T0, 3, schedule="@every 1m", due_time="0s") == [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
        "2026-01-01T00:02:00Z",
    ]


# --- sub-second creation: nothing is rounded to the second ----------------------------
#
# go-etcd-cron's Builder.Parse takes now := b.clock.Now().UTC() and adds a relative dueTime or
# ttl to it unchanged; dapr/kit's @every Next(t) is t.Add(delay). Only cron expressions land on
# whole seconds. The expected values below were computed by running go-etcd-cron's own
# Builder (Parse, then Schedule; master 0e8ef88, whose timing code equals v0.12.4's) with a
# fake clock set to the creation time, stepping Next the way its counter does (LastTrigger =
# the scheduled time; stop past repeats or expiry), on dapr/kit's cron package (main 6e5616a).
# On Dapr 1.18.3's binaries, {"dueTime": "1s"} posted at any sub-second offset arrives
# 1.003-1.010 s later, and @every 1s x3 at +1.003, +2.003, +3.003 s.

C = "2026-01-01T10:00:00.5Z"


def test_relative_due_time_is_not_rounded_to_the_second() -> None:
    """dueTime "5s" from 10:00:00.7 is 10:00:05.7 (a truncating engine said 10:00:05, 0.7 s
    early)."""
    assert job_fire_strings("2026-01-01T10:00:00.7Z", 1, due_time="5s") == [
        "2026-01-01T10:00:05.7Z"
    ]
    timing = JobTiming.build(due_time="1s", created=parse_rfc3339("2026-01-01T10:00:00.7Z"))
    assert timing.start_ns == parse_rfc3339("2026-01-01T10:00:00.7Z")
    assert timing.due_ns == parse_rfc3339("2026-01-01T10:00:01.7Z")


def test_every_counts_from_the_exact_creation_instant() -> None:
    """@every 1m from 10:00:00.5 fires at 10:01:00.5, 10:02:00.5, ... never a second early."""
    created = parse_rfc3339(C)
    fires = list(islice(JobTiming.build(schedule="@every 1m", created=created).iter_ns(), 5))
    assert [f - created for f in fires] == [k * 60 * 1_000_000_000 for k in range(1, 6)]


def test_cron_fires_stay_on_whole_seconds_from_sub_second_creation() -> None:
    """A cron expression's Next starts at the next whole second, so its fires have no
    fraction whatever the creation time; only dueTime's own fire keeps one."""
    for created in ("2026-01-01T10:00:00.000000001Z", C, "2026-01-01T10:00:00.999999999Z"):
        fires = job_fire_strings(created, 3, schedule="* * * * * *")
        assert fires == ["2026-01-01T10:00:01Z", "2026-01-01T10:00:02Z", "2026-01-01T10:00:03Z"]
    fires = [parse_rfc3339(f) for f in job_fire_strings(C, 20, schedule="*/7 * * * * *")]
    assert all(f % 1_000_000_000 == 0 for f in fires)


@pytest.mark.parametrize(
    ("created", "fields", "expect"),
    [
        # one-shot: Go duration, ISO 8601 (exact and calendar parts), RFC 3339 (absolute)
        (C, {"due_time": "1s"}, ["2026-01-01T10:00:01.5Z"]),
        (C, {"due_time": "0s"}, ["2026-01-01T10:00:00.5Z"]),
        ("2026-01-01T10:00:00.123456789Z", {"due_time": "1500ms"},
         ["2026-01-01T10:00:01.623456789Z"]),
        (C, {"due_time": "PT1M"}, ["2026-01-01T10:01:00.5Z"]),
        ("2026-01-31T10:00:00.25Z", {"due_time": "P1M"}, ["2026-03-03T10:00:00.25Z"]),
        (C, {"due_time": "P1DT2H"}, ["2026-01-02T12:00:00.5Z"]),
        (C, {"due_time": "2026-01-01T10:00:05Z"}, ["2026-01-01T10:00:05Z"]),
        (C, {"due_time": "2026-01-01T10:00:05.25Z"}, ["2026-01-01T10:00:05.25Z"]),
        # @every, without and with dueTime, with repeats
        (C, {"schedule": "@every 1m", "n": 4}, ["2026-01-01T10:01:00.5Z", "2026-01-01T10:02:00.5Z",
                                        "2026-01-01T10:03:00.5Z", "2026-01-01T10:04:00.5Z"]),
        (C, {"schedule": "@every 1s", "repeats": 3},
         ["2026-01-01T10:00:01.5Z", "2026-01-01T10:00:02.5Z", "2026-01-01T10:00:03.5Z"]),
        (C, {"schedule": "@every 1m", "due_time": "10s", "n": 4},
         ["2026-01-01T10:00:10.5Z", "2026-01-01T10:01:10.5Z", "2026-01-01T10:02:10.5Z",
          "2026-01-01T10:03:10.5Z"]),
        (C, {"schedule": "@every 1m", "due_time": "0s", "n": 4},
         ["2026-01-01T10:00:00.5Z", "2026-01-01T10:01:00.5Z", "2026-01-01T10:02:00.5Z",
          "2026-01-01T10:03:00.5Z"]),
        (C, {"schedule": "@every 1m", "due_time": "2026-01-01T10:00:05Z", "n": 4},
         ["2026-01-01T10:00:05Z", "2026-01-01T10:01:05Z", "2026-01-01T10:02:05Z",
          "2026-01-01T10:03:05Z"]),
        (C, {"schedule": "@every 250ms", "repeats": 4},
         ["2026-01-01T10:00:00.75Z", "2026-01-01T10:00:01Z", "2026-01-01T10:00:01.25Z",
          "2026-01-01T10:00:01.5Z"]),
        # ttl relative to creation (a tick exactly at the expiry still fires)
        (C, {"schedule": "@every 1s", "ttl": "3s"},
         ["2026-01-01T10:00:01.5Z", "2026-01-01T10:00:02.5Z", "2026-01-01T10:00:03.5Z"]),
        (C, {"schedule": "@every 1s", "ttl": "2500ms"},
         ["2026-01-01T10:00:01.5Z", "2026-01-01T10:00:02.5Z"]),
        (C, {"schedule": "@every 1m", "ttl": "PT2M"},
         ["2026-01-01T10:01:00.5Z", "2026-01-01T10:02:00.5Z"]),
        (C, {"schedule": "* * * * * *", "ttl": "3s"},
         ["2026-01-01T10:00:01Z", "2026-01-01T10:00:02Z", "2026-01-01T10:00:03Z"]),
        # ttl relative to a sub-second dueTime
        (C, {"schedule": "@every 1s", "due_time": "1.25s", "ttl": "2s"},
         ["2026-01-01T10:00:01.75Z", "2026-01-01T10:00:02.75Z", "2026-01-01T10:00:03.75Z"]),
        (C, {"schedule": "* * * * * *", "due_time": "1.25s", "ttl": "2s"},
         ["2026-01-01T10:00:01.75Z", "2026-01-01T10:00:02Z", "2026-01-01T10:00:03Z"]),
        (C, {"schedule": "@every 1m", "due_time": "10s", "ttl": "9s"},
         ["2026-01-01T10:00:10.5Z"]),
        (C, {"schedule": "@every 1h", "due_time": "PT30M", "ttl": "PT1H"},
         ["2026-01-01T10:30:00.5Z", "2026-01-01T11:30:00.5Z"]),
        # cron: whole seconds, after a sub-second dueTime too
        (C, {"schedule": "0 * * * * *", "n": 3},
         ["2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z", "2026-01-01T10:03:00Z"]),
        (C, {"schedule": "0 * * * * *", "due_time": "1.5s", "n": 3},
         ["2026-01-01T10:00:02Z", "2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z"]),
        (C, {"schedule": "@hourly", "n": 3},
         ["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z"]),
    ],
)
def test_sub_second_creation_fires_as_go_etcd_cron_computes(
    created: str, fields: dict, expect: list[str]
) -> None:
    """Fire times from a sub-second creation time equal those go-etcd-cron's Builder gives
    (the first ``n`` of an endless job; all of them, up to 10, of one that ends)."""
    fields = dict(fields)
    n = fields.pop("n", 10)
    assert job_fire_strings(created, n, **fields) == expect


@pytest.mark.parametrize(
    ("due_time", "ttl"),
    [("11s", "2026-01-01T10:00:11Z"), ("10.5s", "2026-01-01T10:00:10.9Z")],
)
def test_absolute_ttl_before_a_sub_second_due_time_is_rejected(due_time: str, ttl: str) -> None:
    """dueTime "11s" from 10:00:00.5 is 10:00:11.5, after a ttl of 10:00:11: Dapr refuses the
    job (a truncating engine put dueTime at 10:00:11 and accepted it)."""
    with pytest.raises(ScheduleError) as info:
        JobTiming.build(
            schedule="@every 1m", due_time=due_time, ttl=ttl, created=parse_rfc3339(C)
        )
    assert info.value.message == "ttl must be greater than due time"
    assert info.value.field == "ttl"


def test_sub_second_timing_survives_a_store_round_trip() -> None:
    """What the stand-in stores keeps the creation instant's fraction, so a restart gives the
    same ticks."""
    timing = JobTiming.build(
        schedule="@every 1s", due_time="250ms", ttl="5s", created=parse_rfc3339(C)
    )
    again = JobTiming.from_dict(timing.to_dict())
    assert again == timing
    assert again.start_ns == parse_rfc3339(C)
    assert again.fires(10) == timing.fires(10)


# --- repeats, ttl, one-shot -----------------------------------------------------------


def test_repeats_stop_after_n_ticks() -> None:
    """Dapr's test `repeats.go`: `@every 1s` + repeats 2 fires exactly 2 times."""
    assert job_fire_strings(T0, 10, schedule="@every 1s", repeats=2) == [
        "2026-01-01T00:00:01Z",
        "2026-01-01T00:00:02Z",
    ]
    assert len(job_fire_strings(T0, 10, schedule="0 0 * * * *", repeats=3)) == 3


def test_ttl_stops_when_next_tick_is_after_expiry() -> None:
    """Dapr's test `repeats.go`: `@every 1s` + ttl `3s` fires 3 times (a tick exactly at
    the expiry still fires)."""
    assert job_fire_strings(T0, 10, schedule="@every 1s", ttl="3s") == [
        "2026-01-01T00:00:01Z",
        "2026-01-01T00:00:02Z",
        "2026-01-01T00:00:03Z",
    ]


def test_relative_ttl_counts_from_due_time() -> None:
    """A relative ttl counts from dueTime when one is set (not from creation)."""
    assert job_fire_strings(T0, 10, schedule="@every 1s", due_time="10s", ttl="3s") == [
        "2026-01-01T00:00:10Z",
        "2026-01-01T00:00:11Z",
        "2026-01-01T00:00:12Z",
        "2026-01-01T00:00:13Z",
    ]
    timing = JobTiming.build(schedule="@daily", due_time="1h", ttl="2h", created=utc(2026, 1, 1))
    assert timing.expiration_ns == parse_rfc3339("2026-01-01T03:00:00Z")


def test_absolute_ttl_is_absolute() -> None:
    """An RFC 3339 ttl is an instant of its own."""
    assert len(job_fire_strings(T0, 100, schedule="@hourly", ttl="2026-01-01T05:30:00+00:00")) == 5


def test_first_tick_after_expiry_means_no_fires() -> None:
    """`{"schedule":"@daily","ttl":"2h"}` created at 09:00 UTC is accepted but
    never fires."""
    timing = JobTiming.build(schedule="@daily", ttl="2h", created=utc(2026, 1, 1, 9))
    assert timing.fires(5) == []
    assert timing.next_ns(0, None) is None


def test_one_shot_fires_once() -> None:
    """A dueTime alone is a one-shot job; `repeats: 1` is allowed with it."""
    assert job_fire_strings(T0, 5, due_time="1h30m") == ["2026-01-01T01:30:00Z"]
    assert job_fire_strings(T0, 5, due_time="1h30m", repeats=1) == ["2026-01-01T01:30:00Z"]
    timing = JobTiming.build(due_time="1h", created=utc(2026, 1, 1))
    assert timing.is_oneshot
    assert timing.next_ns(1, timing.due_ns) is None


def test_one_shot_in_the_past_still_fires_once() -> None:
    """Vector c0756: a dueTime before creation fires once, at that instant."""
    assert job_fire_strings(T0, 5, due_time="2025-12-31T00:00:00Z") == ["2025-12-31T00:00:00Z"]


def test_timing_survives_a_store_round_trip() -> None:
    """What the stand-in stores (to_dict) gives back the same ticks."""
    timing = JobTiming.build(
        schedule="0 */5 * * * *", due_time="90s", ttl="1h", repeats=7, created=utc(2026, 1, 1)
    )
    again = JobTiming.from_dict(timing.to_dict())
    assert again == timing
    assert again.fires(10) == timing.fires(10)
    assert len(timing.fires(10)) == 7


# --- validation rules 5-10 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"due_time": "1s", "repeats": 2}, "job must have a schedule to repeat", "repeats"),
        ({"schedule": "@daily", "repeats": 0}, "defined repeats must be greater than 0",
         "repeats"),
        ({"due_time": "1s", "repeats": 0}, "defined repeats must be greater than 0", "repeats"),
        ({"due_time": "1s", "ttl": "1h"}, "job must have a schedule to have a ttl", "ttl"),
        ({"schedule": "0 * * * *"}, "expected exactly 6 fields, found 5: [0 * * * *]",
         "schedule"),
        ({"schedule": "@daily", "due_time": "tomorrow"}, "due time format not recognized",
         "dueTime"),
        ({"schedule": "@daily", "ttl": "forever"}, "ttl format not recognized", "ttl"),
        ({"schedule": "@daily", "ttl": "R5/PT1H"}, "ttl format not recognized", "ttl"),
        ({"schedule": "@daily", "due_time": "2026-01-02T00:00:00Z",
          "ttl": "2026-01-01T12:00:00Z"}, "ttl must be greater than due time", "ttl"),
        ({"schedule": "@daily", "due_time": "10s", "ttl": "-1s"},
         "ttl must be greater than due time", "ttl"),
    ],
)
def test_scheduler_validation_messages_name_their_field(fields: dict, message: str,
                                                        field: str) -> None:
    """Exact go-etcd-cron messages, and which field."""
    err = build_error(**fields)
    assert str(err) == message
    assert err.field == field
    assert err.http_message() == (
        "failed to schedule job due to: rpc error: code = Unknown desc = "
        f"job failed validation: {message}"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # rule 6 (repeats) before rule 7 (ttl)
        ({"due_time": "1s", "ttl": "1h", "repeats": 0}, "defined repeats must be greater than 0"),
        # rule 8 (schedule) before rule 9 (dueTime)
        ({"schedule": "bad", "due_time": "bad"}, "expected exactly 6 fields, found 1: [bad]"),
        # rule 9 for dueTime before ttl
        ({"schedule": "@daily", "due_time": "bad", "ttl": "bad"}, "due time format not recognized"),
    ],
)
def test_validation_rules_run_in_order(fields: dict, message: str) -> None:
    """Checks run in the documented order."""
    assert str(build_error(**fields)) == message


def test_ttl_equal_to_due_time_is_accepted() -> None:
    """A ttl equal to dueTime is accepted (and fires once, at dueTime)."""
    at = "2026-01-01T06:00:00Z"
    assert job_fire_strings(T0, 5, schedule="@hourly", due_time=at, ttl=at) == [at]
    assert job_fire_strings(T0, 5, schedule="@hourly", due_time="1h", ttl="0s") == [
        "2026-01-01T01:00:00Z"
    ]


def test_job_needs_schedule_or_due_time() -> None:
    """Neither schedule nor dueTime is refused."""
    with pytest.raises(ScheduleError):
        JobTiming.build(created=utc(2026, 1, 1))


# --- calendar edges ------------------------------------------------------------------


def test_leap_day_fires_every_four_years() -> None:
    """`0 0 0 29 2 *` fires on Feb 29 only."""
    assert next_fires("0 0 0 29 2 *", "2026-01-01T00:00:00Z", 3) == [
        "2028-02-29T00:00:00Z",
        "2032-02-29T00:00:00Z",
        "2036-02-29T00:00:00Z",
    ]


def test_five_year_search_limit() -> None:
    """dapr/kit's Next searches five years, so Feb 29 has no next time after 2096 (2100 is no
    leap year): Next gives Go's zero time. go-etcd-cron fires the job at that instant, and the
    next Next, from year 1, finds the leap days since then (as its own Builder computes)."""
    assert next_fires("0 0 0 29 2 *", "2093-01-01T00:00:00Z", 3) == ["2096-02-29T00:00:00Z"]
    assert job_fire_strings("2097-01-01T00:00:00Z", 3, schedule="0 0 0 29 2 *") == [
        "0001-01-01T00:00:00Z", "0004-02-29T00:00:00Z", "0008-02-29T00:00:00Z",
    ]


def test_the_31st_skips_short_months() -> None:
    """`0 0 0 31 * *` fires only in months that have a 31st."""
    assert [t[:10] for t in next_fires("0 0 0 31 * *", T0, 4)] == [
        "2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31",
    ]


@pytest.mark.parametrize("schedule", ["0 0 0 30 2 *", "0 0 0 31 2 *", "0 0 0 31 4,6,9,11 *"])
def test_impossible_dates_fire_at_the_zero_time(schedule: str) -> None:
    """Feb 30 is a valid schedule that never matches: Next has no time (Go's zero time), and
    the Scheduler fires the job at that instant over and over (see test_never_matching.py)."""
    assert job_fire_strings(T0, 3, schedule=schedule) == ["0001-01-01T00:00:00Z"] * 3
    assert next_after(schedule, utc(2026, 1, 1)) is None


# --- time zones and DST ---------------------------------------------------------------


def test_berlin_spring_forward_skips_missing_time() -> None:
    """02:30 does not exist in Berlin on 2026-03-29: no fire that day."""
    fires = next_fires("CRON_TZ=Europe/Berlin 0 30 2 * * *", "2026-03-28T12:00:00Z", 2)
    assert fires == ["2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]


def test_berlin_fall_back_repeats_the_hour() -> None:
    """On 2026-10-25 Berlin's 02:00-03:00 happens twice; Dapr's Next
    steps absolute hours, so 02:30 fires in both (CEST, then CET)."""
    assert next_fires("CRON_TZ=Europe/Berlin 0 30 2 * * *", "2026-10-24T12:00:00Z", 3) == [
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:30:00Z",
        "2026-10-26T01:30:00Z",
    ]
    # Hourly keeps a one-hour cadence in absolute time through the change.
    hourly = next_fires("CRON_TZ=Europe/Berlin 0 0 * * * *", "2026-10-24T23:30:00Z", 4)
    assert hourly == [
        "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z",
        "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z",
    ]


def test_new_york_spring_forward() -> None:
    """New York 02:30 is missing on 2026-03-08 (vector c0543)."""
    assert next_fires("CRON_TZ=America/New_York 0 30 2 * * *", "2026-03-07T00:00:00Z", 2) == [
        "2026-03-07T07:30:00Z",
        "2026-03-09T06:30:00Z",
    ]


def test_lord_howe_half_hour_dst() -> None:
    """Lord Howe shifts by 30 minutes (02:00 → 02:30 on 2026-10-04):
    02:15 is skipped that day, 02:45 still fires; on 2026-04-05 01:30-02:00 repeats, so
    01:45 fires twice."""
    skip = next_fires("CRON_TZ=Australia/Lord_Howe 0 15 2 * * *", "2026-10-02T12:00:00Z", 2)
    assert skip == ["2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z"]  # Oct 3, then Oct 5
    keep = next_fires("CRON_TZ=Australia/Lord_Howe 0 45 2 * * *", "2026-10-02T12:00:00Z", 3)
    assert keep == ["2026-10-02T16:15:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:45:00Z"]
    twice = next_fires("CRON_TZ=Australia/Lord_Howe 0 45 1 * * *", "2026-04-03T12:00:00Z", 3)
    assert twice == ["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z"]


def test_half_hour_zone_without_dst() -> None:
    """Asia/Kolkata (+05:30) hourly fires at :30 UTC."""
    assert next_fires("CRON_TZ=Asia/Kolkata 0 0 * * * *", "2026-11-01T00:00:00Z", 2) == [
        "2026-11-01T00:30:00Z",
        "2026-11-01T01:30:00Z",
    ]


# --- datetimes ---------------------------------------------------------------------


def test_naive_datetimes_rejected_clearly() -> None:
    """Only timezone-aware datetimes; a naive one is a
    ValueError that says what to pass instead."""
    with pytest.raises(ValueError, match="timezone-aware"):
        next_after("@daily", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        job_fires(created=datetime(2026, 1, 1), schedule="@daily")


def test_aware_non_utc_datetimes_are_the_same_instant() -> None:
    """An aware datetime in any offset is the same instant; results are UTC."""
    plus2 = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    got = next_after("0 0 9 * * *", plus2)
    assert got == utc(2026, 1, 1, 9)
    assert got is not None and got.utcoffset() == timedelta(0)
    assert job_fires(created=plus2, schedule="@hourly", n=1) == [utc(2026, 1, 1, 1)]
