"""Plots draw what the engine promises (a plot is a promise:
docs/architecture.md#the-schedule-engine).

Each test counts the marks on the Axes and checks them against Dapr's timing
(docs/dapr-behaviour.md#timing).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from jobslab.schedules import (
    ScheduleError,
    next_fires,
    plot_heatmap,
    plot_planned_vs_actual,
    plot_timeline,
)

MONDAY = "2026-01-05T00:00:00Z"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _times(collection) -> list[pd.Timestamp]:
    return [pd.Timestamp(mdates.num2date(x)).round("s") for x in collection.get_positions()]


def test_timeline_one_row_per_job_one_tick_per_fire() -> None:
    _, ax = plot_timeline(
        {"report": "0 0 9 * * MON-FRI", "poll": "@every 2h"}, start=MONDAY, window="3D"
    )
    report, poll = ax.collections
    assert _times(report) == [pd.Timestamp(f"2026-01-0{d}T09:00:00Z") for d in (5, 6, 7)]
    assert len(poll.get_positions()) == 36  # 02:00 ... day 3 24:00, creation never fires
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["report\n(3 fires)", "poll\n(36 fires)"]
    assert "UTC" in ax.get_xlabel() and "UTC" in ax.get_title()


def test_timeline_ticks_match_next_fires() -> None:
    job = {"schedule": "0 */20 * * * *", "dueTime": "5m", "repeats": 4}
    _, ax = plot_timeline([job], start=MONDAY, window="2h")
    expected = list(next_fires(job, n=10, start=MONDAY)["fire_time_utc"])
    assert _times(ax.collections[0]) == expected
    assert len(expected) == 4


def test_timeline_caps_dense_rows_and_says_so() -> None:
    _, ax = plot_timeline({"fast": "@every 1s", "slow": "@hourly"}, start=MONDAY,
                            window="1D", max_marks=500)
    assert [len(c.get_positions()) for c in ax.collections] == [500, 24]
    assert "over 500 fires" in ax.get_yticklabels()[0].get_text()
    assert "only their first 500" in ax.get_title()
    _, ax2 = plot_timeline({"slow": "@hourly"}, start=MONDAY, window="1D", max_marks=500)
    assert "only their first" not in ax2.get_title()


def test_timeline_names_the_bad_job() -> None:
    with pytest.raises(ScheduleError) as err:
        plot_timeline({"ok": "@daily", "broken": "*/5 * * * *"}, start=MONDAY)
    assert err.value.message == "expected exactly 6 fields, found 5: [*/5 * * * *]"
    assert any("broken" in note for note in err.value.__notes__)


def test_heatmap_counts_per_weekday_and_hour() -> None:
    _, ax = plot_heatmap("0 */30 9-17 * * MON-FRI", start=MONDAY, window="7D")
    counts = np.asarray(ax.images[0].get_array())
    assert counts.shape == (7, 24)
    assert counts.sum() == 90  # 2 per hour x 9 hours x 5 weekdays
    assert counts[0, 9] == 2 and counts[5].sum() == 0 and counts[:, 8].sum() == 0
    assert len(ax.texts) == 45  # small counts are annotated, one per non-empty cell
    assert {t.get_text() for t in ax.texts} == {"2"}
    assert "UTC" in ax.get_xlabel() and "90 in total" in ax.get_title()


def test_heatmap_in_a_local_zone_shifts_hours() -> None:
    # @daily is UTC midnight: 01:00 in Berlin in winter (docs/dapr-behaviour.md#time-zone).
    _, ax = plot_heatmap({"nightly": "@daily"}, start=MONDAY, window="7D", tz="Europe/Berlin")
    counts = np.asarray(ax.images[0].get_array())
    assert counts[:, 1].tolist() == [1] * 7 and counts.sum() == 7
    assert "Europe/Berlin" in ax.get_xlabel()


def test_heatmap_large_counts_are_not_annotated_and_caps_are_reported() -> None:
    _, ax = plot_heatmap("*/10 * * * * *", start=MONDAY, window="1D")
    assert np.asarray(ax.images[0].get_array()).sum() == 8640  # 360 an hour
    assert len(ax.texts) == 0
    _, capped = plot_heatmap("@every 1s", start=MONDAY, window="1D", max_fires=1000)
    assert np.asarray(capped.images[0].get_array()).sum() == 1000
    assert "stopped counting" in capped.get_title()


def test_planned_vs_actual_plots_lateness_in_ms_per_trigger() -> None:
    df = pd.DataFrame({
        "planned": pd.to_datetime(["2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"]),
        "actual": pd.to_datetime(["2026-01-01T00:00:10.120Z", "2026-01-01T00:00:20.050Z"]),
    })
    _, ax = plot_planned_vs_actual(df)
    points = ax.collections[-1].get_offsets()
    assert np.allclose(points[:, 1], [120, 50])
    assert "ms" in ax.get_ylabel() and "UTC" in ax.get_xlabel()
    assert "2 triggers" in ax.get_title()


def test_planned_times_can_come_from_the_engine() -> None:
    # @every 10s from creation: planned 00:00:10, 00:00:20, 00:00:30
    # (docs/dapr-behaviour.md#first-fire).
    df = pd.DataFrame({"received": pd.to_datetime(
        ["2026-01-01T00:00:10.2Z", "2026-01-01T00:00:20.1Z", "2026-01-01T00:00:30.4Z"])})
    _, ax = plot_planned_vs_actual(df, actual="received", schedule="@every 10s",
                                   start="2026-01-01T00:00:00Z")
    points = ax.collections[-1].get_offsets()
    assert np.allclose(points[:, 1], [200, 100, 400])
    planned = [pd.Timestamp(mdates.num2date(x)).round("s") for x in points[:, 0]]
    assert planned == [pd.Timestamp(f"2026-01-01T00:00:{s}Z") for s in ("10", "20", "30")]


def test_planned_vs_actual_errors_are_clear() -> None:
    naive = pd.DataFrame({"planned": pd.to_datetime(["2026-01-01 00:00:10"]),
                          "actual": pd.to_datetime(["2026-01-01 00:00:11"])})
    with pytest.raises(ValueError, match="tz_localize"):
        plot_planned_vs_actual(naive)
    with pytest.raises(ValueError, match="schedule="):
        plot_planned_vs_actual(naive[["actual"]])
    aware = naive.apply(lambda col: col.dt.tz_localize("UTC"))
    with pytest.raises(ValueError, match="start="):
        plot_planned_vs_actual(aware[["actual"]], schedule="@every 1s")
