"""next_fires(): the DataFrame learners read fire times from (docs/dapr-behaviour.md#timing).

Expected values are Dapr's own, from the reference vectors computed with dapr/kit's cron and
go-etcd-cron's job rules (case ids as in tests/data/dapr-schedule-vectors.jsonl).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from jobslab.schedules import ScheduleError, next_fires

START = "2026-01-01T00:00:00Z"


def utc(*stamps: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(s) for s in stamps]


def test_cron_weekdays_vector_c0000() -> None:
    df = next_fires("0 30 9 * * MON-FRI", n=4, start=START)
    assert list(df["fire_time_utc"]) == utc(
        "2026-01-01T09:30:00Z", "2026-01-02T09:30:00Z", "2026-01-05T09:30:00Z",
        "2026-01-06T09:30:00Z",
    )
    assert list(df["weekday"]) == ["Thursday", "Friday", "Monday", "Tuesday"]
    assert pd.isna(df["gap"].iloc[0])
    assert list(df["gap"].iloc[1:]) == [pd.Timedelta(days=1), pd.Timedelta(days=3),
                                        pd.Timedelta(days=1)]
    assert list(df.index) == [1, 2, 3, 4]
    assert df.attrs["created"] == pd.Timestamp(START)


def test_leap_day_vector_c0018() -> None:
    df = next_fires("0 0 0 29 2 *", n=3, start="2028-02-28T12:00:00Z")
    assert list(df["fire_time_utc"]) == utc(
        "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"
    )


def test_every_keeps_cadence_from_creation_vector_c0120() -> None:
    df = next_fires("@every 1.5s", n=3, start=START)
    assert list(df["fire_time_utc"]) == utc(
        "2026-01-01T00:00:01.5Z", "2026-01-01T00:00:03Z", "2026-01-01T00:00:04.5Z"
    )
    assert df["fire_time_utc"].dt.tz is not None
    assert str(df["fire_time_utc"].dt.tz) == "UTC"


def test_descriptor_is_utc_midnight_not_local() -> None:
    df = next_fires("@daily", n=2, start="2026-06-15T09:29:59Z", tz="Europe/Berlin")
    assert list(df["fire_time_utc"]) == utc("2026-06-16T00:00:00Z", "2026-06-17T00:00:00Z")
    # Local view: 02:00 in Berlin (CEST), not local midnight.
    assert [t.hour for t in df["local_time"]] == [2, 2]
    assert str(df["local_time"].dt.tz) == "Europe/Berlin"


def test_tz_prefix_shows_local_time_and_dst_vector_c0513() -> None:
    df = next_fires("TZ=Europe/Berlin 0 30 2 * * *", n=3, start="2026-10-24T20:00:00Z")
    assert list(df["fire_time_utc"]) == utc(
        "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"
    )
    assert "local_time" in df.columns  # the prefix's zone, without asking
    assert [t.strftime("%H:%M") for t in df["local_time"]] == ["02:30", "02:30", "02:30"]


def test_no_local_column_without_a_zone() -> None:
    df = next_fires("@every 10s", n=2, start=START)
    assert list(df.columns) == ["fire_time_utc", "weekday", "gap"]


def test_due_time_is_first_fire_then_schedule() -> None:
    # dueTime fires even though it does not match the cron expression (test duetime.go).
    df = next_fires("0 0 * * * *", n=3, start=START, due_time="10m")
    assert list(df["fire_time_utc"]) == utc(
        "2026-01-01T00:10:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"
    )


def test_repeats_and_ttl_end_the_job() -> None:
    assert len(next_fires("@every 1s", n=10, start=START, repeats=2)) == 2
    # ttl 3s -> fires 3 times (test daprd/jobs/repeats.go).
    assert len(next_fires("@every 1s", n=10, start=START, ttl="3s")) == 3


def test_job_dict_with_proto_names() -> None:
    df = next_fires({"schedule": "@every 1m", "due_time": "0s", "repeats": 2}, start=START)
    assert list(df["fire_time_utc"]) == utc("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")


def test_oneshot_due_time_only_vector_c0729() -> None:
    df = next_fires(due_time="1h30m", start=START)
    assert list(df["fire_time_utc"]) == utc("2026-01-01T01:30:00Z")


def test_ttl_before_first_fire_gives_empty_frame() -> None:
    df = next_fires({"schedule": "@daily", "ttl": "2h"}, start="2026-01-01T09:00:00Z")
    assert df.empty
    assert list(df.columns) == ["fire_time_utc", "weekday", "gap"]


def test_start_defaults_to_now_utc() -> None:
    before = pd.Timestamp(datetime.now(UTC)).floor("s")
    df = next_fires("@every 1h", n=1)
    assert before + pd.Timedelta(hours=1) <= df["fire_time_utc"].iloc[0]
    assert df["fire_time_utc"].iloc[0] <= before + pd.Timedelta(hours=1, seconds=2)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("*/5 * * * *", "expected exactly 6 fields, found 5: [*/5 * * * *]"),
        ("2h45m", "expected exactly 6 fields, found 1: [2h45m]"),
        ("0 0 0 * * 7", "end of range (7) above maximum (6): 7"),
        (
            "@every 1x",
            'failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"',
        ),
    ],
)
def test_invalid_schedules_raise_daprs_message(schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError) as err:
        next_fires(schedule, start=START)
    assert err.value.message == message


def test_ttl_error_is_daprs_vector_c0822() -> None:
    with pytest.raises(ScheduleError, match=r"^ttl format not recognized$"):
        next_fires("@every 1s", start=START, ttl="bad")


def test_naive_start_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"no time zone.*tzinfo=timezone\.utc"):
        next_fires("@daily", start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="no time zone"):
        next_fires("@daily", start="2026-01-01 00:00")


def test_unknown_tz_suggests_close_names() -> None:
    with pytest.raises(ValueError, match="Europe/Berlin"):
        next_fires("@daily", start=START, tz="Europe/Berln")


def test_bad_n_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be"):
        next_fires("@daily", n=-1, start=START)
