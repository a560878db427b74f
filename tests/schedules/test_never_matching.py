"""A schedule that never matches: Dapr fires the job back to back, at Go's zero time.

dapr/kit's cron ``Next`` (``cron/spec.go``) returns Go's zero time, 0001-01-01T00:00:00Z, when
nothing matches within five years. go-etcd-cron (``internal/scheduler/repeats.go``,
``internal/counter/counter.go``) never checks for it: it becomes the next tick, always due, and
``Next`` of it is the zero time again. Only ``repeats`` (or deleting the job) ends it; a ``ttl``
does not, since the expiry check is ``next.After(expiration)``. Real Dapr 1.18.3 fired
``0 0 0 31 2 *`` about 1,300 times in 2 s, 3 times at once with ``repeats: 3``, and from the
dueTime on with a dueTime. The expected ticks below are what a Go program running that code
(dapr/kit cron at main 6e5616a, go-etcd-cron's repeats/counter logic at v0.12.4) printed.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from jobslab.schedules import (
    JobTiming,
    _cron,
    describe,
    format_rfc3339,
    lint,
    next_after,
    next_fires,
    ns_to_datetime,
    parse,
    parse_rfc3339,
    plot_heatmap,
    plot_planned_vs_actual,
    plot_timeline,
)
from jobslab.schedules._gotime import GO_ZERO_NS, SECOND
from support.schedules import job_fire_strings

T0 = "2026-10-25T00:30:00Z"
ZERO = "0001-01-01T00:00:00Z"
FEB31 = "0 0 0 31 2 *"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def timing(**fields: object) -> JobTiming:
    return JobTiming.build(created=parse_rfc3339(T0), **fields)  # type: ignore[arg-type]


# --- Go's zero time -------------------------------------------------------------------


def test_zero_time_is_year_one_in_every_representation() -> None:
    assert GO_ZERO_NS == parse_rfc3339(ZERO) == -62_135_596_800 * SECOND
    assert format_rfc3339(GO_ZERO_NS) == ZERO
    assert ns_to_datetime(GO_ZERO_NS) == datetime(1, 1, 1, tzinfo=UTC)


# --- the engine's ticks -----------------------------------------------------------------


def test_without_repeats_every_tick_is_the_zero_time() -> None:
    t = timing(schedule=FEB31)
    assert t.loops
    assert job_fire_strings(T0, 8, schedule=FEB31) == [ZERO] * 8
    assert t.next_ns(0, None) == GO_ZERO_NS
    assert t.next_ns(1_000_000, GO_ZERO_NS) == GO_ZERO_NS
    assert t.fires(5) == [datetime(1, 1, 1, tzinfo=UTC)] * 5  # bounded by n


def test_repeats_end_it() -> None:
    assert job_fire_strings(T0, 10, schedule=FEB31, repeats=3) == [ZERO] * 3
    assert timing(schedule=FEB31, repeats=3).next_ns(3, GO_ZERO_NS) is None


def test_due_time_fires_first_then_the_loop_starts() -> None:
    assert job_fire_strings(T0, 4, schedule=FEB31, due_time="1s") == [
        "2026-10-25T00:30:01Z", ZERO, ZERO, ZERO,
    ]
    assert job_fire_strings(T0, 10, schedule=FEB31, due_time="1s", repeats=3) == [
        "2026-10-25T00:30:01Z", ZERO, ZERO,
    ]


@pytest.mark.parametrize("fields", [
    {"ttl": "1s"},
    {"ttl": "2026-10-25T00:30:00Z"},
    {"due_time": "1s", "ttl": "1h"},
])
def test_a_ttl_does_not_stop_it(fields: dict[str, str]) -> None:
    """counter.go: ``next.After(expiration)``; the zero time is after nothing."""
    fires = job_fire_strings(T0, 6, schedule=FEB31, **fields)
    assert len(fires) == 6 and fires[-5:] == [ZERO] * 5


@pytest.mark.parametrize("schedule", [
    FEB31, "0 0 0 30 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 , * *", "0 0 0 31 FEB ?",
    "CRON_TZ=Europe/Berlin 0 0 0 31 2 *",
])
def test_schedules_that_never_match(schedule: str) -> None:
    assert parse(schedule).never_matches
    assert job_fire_strings(T0, 3, schedule=schedule) == [ZERO] * 3
    assert next_after(schedule, datetime(2026, 1, 1, tzinfo=UTC)) is None  # Next's zero time


@pytest.mark.parametrize("schedule", [
    "0 0 0 29 2 *", "0 0 0 30 1-2 *", "0 0 0 31 2 MON", "0 0 0 * 2 MON", "@every 1s",
])
def test_schedules_that_match_somewhere(schedule: str) -> None:
    assert not parse(schedule).never_matches
    assert ZERO not in job_fire_strings(T0, 3, schedule=schedule)


@pytest.mark.parametrize("schedule", [
    FEB31, "0 0 0 30 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 30,31 2 *", "0 0 0 29 2 *",
    "0 0 0 30 2,4 *", "CRON_TZ=America/New_York 0 0 0 31 2 *",
])
@pytest.mark.parametrize("start", [ZERO, "2026-01-01T00:00:00Z", "2097-06-01T00:00:00Z"])
def test_the_never_matches_shortcut_equals_the_five_year_search(
    schedule: str, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """never_matches answers at once what Go's Next finds by searching: compare with the
    search itself, one step at a time (no shortcuts)."""
    monkeypatch.setattr(_cron, "JUMPS", False)
    sched = parse(schedule)
    searched = dataclasses.replace(sched, _never=False).next_ns(parse_rfc3339(start))
    assert (sched.next_ns(parse_rfc3339(start)) is None) == (searched is None)
    if sched.never_matches:
        assert searched is None


def test_a_five_year_gap_gives_the_zero_time_and_restarts_from_year_one() -> None:
    """Feb 29 after 2096 (2100 is no leap year): Next gives the zero time, and Next of that
    walks the leap days since year 1 (as go-etcd-cron's code computes)."""
    assert job_fire_strings("2096-01-01T00:00:00Z", 4, schedule="0 0 0 29 2 *") == [
        "2096-02-29T00:00:00Z", ZERO, "0004-02-29T00:00:00Z", "0008-02-29T00:00:00Z",
    ]
    # In a zone, year 1 is in local mean time (New York: -4:56:02), as in Go.
    assert job_fire_strings(
        "2096-01-01T00:00:00Z", 4, schedule="CRON_TZ=America/New_York 0 0 0 29 2 *"
    ) == ["2096-02-29T05:00:00Z", ZERO, "0004-02-29T04:56:02Z", "0008-02-29T04:56:02Z"]


def test_iter_ns_after_a_later_instant_ends_instead_of_spinning() -> None:
    after = parse_rfc3339(T0)
    assert list(timing(schedule=FEB31).iter_ns(after_ns=after)) == []
    assert list(timing(schedule=FEB31, due_time="1s").iter_ns(after_ns=after)) == [
        after + SECOND
    ]
    leap = JobTiming.build(schedule="0 0 0 29 2 *", created=parse_rfc3339("2096-01-01T00:00:00Z"))
    assert list(leap.iter_ns(after_ns=parse_rfc3339("2097-01-01T00:00:00Z"))) == []


# --- lint -------------------------------------------------------------------------------


def findings(job: object) -> list:
    return [f for f in lint(job, now="2026-01-01T09:00:00Z") if f.code == "fires-nonstop"]


def test_lint_warns_that_it_fires_in_a_tight_loop_until_deleted() -> None:
    [f] = findings(FEB31)
    assert f.severity == "warning"
    assert "tight loop" in f.message and "hundreds of times a second" in f.message
    assert "as soon as it is created, until you delete it" in f.message
    assert "zero time" in f.message and "never fires" not in f.message
    assert "DELETE /v1.0/jobs/<name>" in f.fix and "February" in f.fix
    assert [x.code for x in lint("0 0 0 30 2 *", now="2026-01-01T09:00:00Z")] == [
        "fires-nonstop"
    ]


def test_lint_with_repeats_due_time_and_ttl() -> None:
    [f] = findings({"schedule": FEB31, "repeats": 3})
    assert "fires all 3 repeats back to back, as soon as it is created" in f.message
    assert "tight loop" not in f.message
    [f] = findings({"schedule": FEB31, "dueTime": "10s", "ttl": "1h"})
    assert "from its dueTime on, until you delete it" in f.message
    assert "Its ttl does not stop it" in f.message
    [f] = findings({"schedule": FEB31, "repeats": 1})
    assert "fires it once, as soon as it is created" in f.message
    assert findings({"schedule": FEB31, "dueTime": "10s", "repeats": 1}) == []


def test_lint_is_quiet_for_schedules_that_match() -> None:
    assert findings("0 0 0 29 2 *") == []
    assert findings("@every 1s") == []
    assert findings("0 0 0 31 2") == []  # rejected for its field count instead


# --- describe ---------------------------------------------------------------------------


def test_describe_says_it_fires_continuously() -> None:
    text = describe(FEB31)
    assert "fires the job continuously" in text and "back to back" in text
    assert "Dapr quirk" in text and "zero time" in text
    assert "never fires" not in text
    job = describe({"schedule": FEB31, "ttl": "1h", "repeats": 3})
    assert "It stops after 3 fires." in job
    assert "Its ttl (1h) does not stop it" in job and "It expires at its ttl" not in job
    assert "continuously" not in describe("0 0 0 29 2 *")


# --- frames -----------------------------------------------------------------------------


def test_frame_shows_the_zero_time_rows_with_a_note() -> None:
    df = next_fires(FEB31, n=4, start=T0)
    assert list(df["fire_time_utc"]) == [pd.Timestamp(ZERO)] * 4
    assert list(df["gap"].iloc[1:]) == [pd.Timedelta(0)] * 3
    assert "Go's zero time" in df.attrs["note"]
    assert "0001-01-01" in str(df)


def test_frame_with_due_time_repeats_and_a_zone_does_not_crash() -> None:
    df = next_fires({"schedule": FEB31, "dueTime": "1h", "repeats": 3}, n=10, start=T0,
                    tz="America/New_York")
    assert list(df["fire_time_utc"]) == [
        pd.Timestamp("2026-10-25T01:30:00Z"), pd.Timestamp(ZERO), pd.Timestamp(ZERO)
    ]
    assert df["local_time"].iloc[0].hour == 21
    assert df["local_time"].iloc[1:].isna().all()  # year 0 west of UTC: no local reading
    assert "0001-01-01" in str(df)
    assert "note" not in next_fires("@daily", n=2, start=T0).attrs


# --- plots ------------------------------------------------------------------------------


def test_timeline_draws_a_band_for_a_job_that_fires_non_stop() -> None:
    _, ax = plot_timeline({"feb31": FEB31, "three": {"schedule": FEB31, "repeats": 3},
                           "daily": "@daily"}, start=T0, window="2D")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["feb31\n(over 1,000 fires, non-stop)", "three\n(3 fires, non-stop)",
                      "daily\n(2 fires)"]
    assert "non-stop: the schedule matches no date" in ax.get_title()
    _, three, _, band = ax.collections
    created = pd.Timestamp(T0)
    assert {pd.Timestamp(mdates.num2date(x)) for x in three.get_positions()} == {created}
    assert len(band.get_segments()) == 1


def test_heatmap_and_planned_vs_actual_do_not_crash() -> None:
    _, ax = plot_heatmap({"feb31": {"schedule": FEB31, "repeats": 5}}, start=T0)
    assert "feb31: non-stop" in ax.get_title()
    assert ax.images[0].get_array().sum() == 5
    triggers = pd.DataFrame({"actual": pd.to_datetime(
        ["2026-10-25T00:30:00.010Z", "2026-10-25T00:30:00.012Z", "2026-10-25T00:30:00.015Z"])})
    _, ax = plot_planned_vs_actual(triggers, schedule={"schedule": FEB31, "repeats": 3},
                                   start=T0)
    assert "3 triggers" in ax.get_title() and "max 15 ms late" in ax.get_title()
