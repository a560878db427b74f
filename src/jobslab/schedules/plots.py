"""Pictures of when jobs fire, drawn from the same engine that fires them ("a plot is a promise").

Every function returns ``(Figure, Axes)`` and never calls ``plt.show()``; in a notebook the
figure shows at the end of the cell. Times are UTC unless a plot says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._errors import ScheduleError
from ._gotime import GO_ZERO_NS, ns_to_datetime
from ._jobspec import JobLike, JobSpec, iter_jobs, job_spec, start_ns, zone

__all__ = ["plot_heatmap", "plot_planned_vs_actual", "plot_timeline"]

Jobs = Mapping[str, JobLike] | list[Any] | JobLike
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NS_PER_DAY = 86_400 * 10**9


def _window(start: datetime | str | None, window: timedelta | str) -> tuple[int, int]:
    begin = start_ns(start)
    span = pd.Timedelta(window)
    if span <= pd.Timedelta(0):
        raise ValueError(f"window must be positive, got {window!r}")
    return begin, begin + span.value


@dataclass
class _Fires:
    """When a job fires within a window."""

    at: list[int]
    #: Stopped at the cap, with more fires to come in the window.
    capped: bool = False
    #: A tick was Go's zero time: the schedule matches nothing, and Dapr fires back to back.
    nonstop: bool = False


#: What a plot says about a job that fires back to back (see ``_fires_in``).
NONSTOP_NOTE = ("non-stop: the schedule matches no date, so Dapr fires the job back to back\n"
                "(from creation or dueTime, until it is deleted or its repeats run out)")


def _fires_in(spec: JobSpec, label: str, begin: int, end: int, cap: int) -> _Fires:
    """Fire instants up to ``end`` for a job created at ``begin``, at most ``cap`` of them.

    A tick that is already past when its turn comes fires at once, so it is placed at the
    previous fire (or the creation), which is when Dapr fires it. That is what happens to a
    schedule that matches nothing: its ticks are Go's zero time (year 1), always due, and the
    job fires back to back (``nonstop``).
    """
    try:
        timing = spec.timing(begin)
    except ScheduleError as exc:
        exc.add_note(f"(in job {label!r})")
        raise
    out = _Fires([])
    at = begin
    for ns in timing.iter_ns():
        out.nonstop |= ns == GO_ZERO_NS
        at = max(at, ns)
        if at > end:
            return out
        if len(out.at) >= cap:
            out.capped = True
            return out
        out.at.append(at)
    return out


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new_ax = plt.subplots(figsize=size, layout="constrained")
    return fig, new_ax


def _stamp(ns: int) -> str:
    return ns_to_datetime(ns).strftime("%Y-%m-%d %H:%M")


def _date_num(ns: list[int] | np.ndarray) -> np.ndarray:
    """Matplotlib date numbers (days since its epoch) for UTC ns instants."""
    epoch = mdates.date2num(datetime.fromisoformat("1970-01-01T00:00:00+00:00"))
    return np.asarray(ns, dtype="int64") / _NS_PER_DAY + epoch


def plot_timeline(
    jobs: Jobs,
    start: datetime | str | None = None,
    window: timedelta | str = "1D",
    *,
    max_marks: int = 1000,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """One row per job, one tick per fire, over ``window`` from ``start`` (UTC).

    ``jobs`` is a dict name → schedule or job dict, a list of job dicts (labelled by their
    ``name`` or schedule), or a single schedule. Each job is taken as created at ``start``
    (default: now). A row with more than ``max_marks`` fires in the window shows the first
    ``max_marks`` and says so.

    >>> fig, ax = plot_timeline({"report": "0 0 9 * * MON-FRI", "poll": "@every 2h"},
    ...                         start="2026-01-05T00:00:00Z", window="3D")  # doctest: +SKIP
    """
    begin, end = _window(start, window)
    rows = list(iter_jobs(jobs))
    if not rows:
        raise ValueError("no jobs to plot: pass a dict name -> schedule, or a list of jobs")
    fig, ax = _axes(ax, (10, 1.2 + 0.5 * len(rows)))
    positions, labels, capped_any, nonstop_any = [], [], False, False
    bands: list[tuple[int, int]] = []  # (row, first fire) of jobs firing non-stop to the end
    for row, (label, spec) in enumerate(rows):
        got = _fires_in(spec, label, begin, end, max_marks)
        fires, capped = got.at, got.capped
        capped_any |= capped
        nonstop_any |= got.nonstop
        if got.nonstop and capped:
            bands.append((row, fires[-1]))
        positions.append(_date_num(fires))
        plural = "" if len(fires) == 1 else "s"
        count = f"over {max_marks:,} fires" if capped else f"{len(fires):,} fire{plural}"
        if got.nonstop:
            count += ", non-stop"
        labels.append(f"{label}\n({count})")
    ax.eventplot(positions, lineoffsets=list(range(len(rows))), linelengths=0.7,
                 colors=[f"C{i % 10}" for i in range(len(rows))])
    for row, first in bands:  # back to back from there on: a band, not separate ticks
        ax.hlines(row, *_date_num([first, end]), colors=f"C{row % 10}", linewidth=10,
                  alpha=0.35)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first job on top
    ax.set_xlim(_date_num([begin, end]))
    locator = mdates.AutoDateLocator(tz=ZoneInfo("UTC"))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=ZoneInfo("UTC")))
    ax.set_xlabel("fire time (UTC)")
    title = f"When each job fires, {_stamp(begin)} to {_stamp(end)} UTC (created at the start)"
    if capped_any:
        title += f"\nrows with over {max_marks:,} fires show only their first {max_marks:,}"
    if nonstop_any:
        title += f"\n{NONSTOP_NOTE}"
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return fig, ax


def plot_heatmap(
    jobs: Jobs,
    start: datetime | str | None = None,
    window: timedelta | str = "7D",
    tz: str | ZoneInfo | None = None,
    *,
    max_fires: int = 200_000,
    annotate_below: int = 100,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Fire counts by weekday (rows) and hour of day (columns) over ``window`` from ``start``.

    Counts every job in ``jobs`` together (same forms as :func:`plot_timeline`). Hours are UTC
    unless ``tz`` names a zone to view them in. Cells are annotated with their counts when the
    largest count is below ``annotate_below``. Counting stops at ``max_fires`` per job, and
    the title says so.

    >>> fig, ax = plot_heatmap("0 */30 9-17 * * MON-FRI", start="2026-01-05T00:00:00Z")
    ... # doctest: +SKIP
    """
    begin, end = _window(start, window)
    view = zone(tz)
    counts = np.zeros((7, 24), dtype=int)
    capped_at: list[str] = []
    nonstop: list[str] = []
    names = []
    for label, spec in iter_jobs(jobs):
        names.append(label)
        got = _fires_in(spec, label, begin, end, max_fires)
        fires = got.at
        if got.capped:
            capped_at.append(f"{label} after {max_fires:,} fires ({_stamp(fires[-1])} UTC)")
        if got.nonstop:
            nonstop.append(label)
        if fires:
            local = pd.DatetimeIndex(pd.to_datetime(fires, unit="ns", utc=True))
            if view is not None:
                local = local.tz_convert(view)
            np.add.at(counts, (local.day_of_week.to_numpy(), local.hour.to_numpy()), 1)
    fig, ax = _axes(ax, (12, 4.2))
    image = ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0)
    bar = fig.colorbar(image, ax=ax, label="fires", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    where = "UTC" if view is None else str(view.key)
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
    ax.set_yticks(range(7), _WEEKDAYS)
    ax.set_xlabel(f"hour of day ({where})")
    ax.set_ylabel(f"weekday ({where})")
    title = (f"Fires per weekday and hour ({where}), {_stamp(begin)} to {_stamp(end)} UTC: "
             f"{counts.sum():,} in total")
    if capped_at:
        title += "\nstopped counting " + "; ".join(capped_at)
    if nonstop:
        title += f"\n{', '.join(nonstop)}: {NONSTOP_NOTE}"
    ax.set_title(title)
    if counts.max() < annotate_below:
        dark = counts.max() * 0.6
        for (day, hour), value in np.ndenumerate(counts):
            if value:
                ax.text(hour, day, str(value), ha="center", va="center", fontsize="small",
                        color="white" if value > dark else "black")
    return fig, ax


def _utc_times(values: Any, column: str) -> pd.Series:
    times = pd.Series(pd.to_datetime(values))
    if times.dt.tz is None:
        raise ValueError(
            f"column {column!r} has times without a time zone; Dapr's are UTC. Fix with "
            f"df[{column!r}] = df[{column!r}].dt.tz_localize('UTC') if they are UTC."
        )
    return times.dt.tz_convert("UTC").reset_index(drop=True)


def _planned_from_engine(schedule: JobLike, start: datetime | str | None, n: int) -> pd.Series:
    if start is None:
        raise ValueError(
            "to compute planned times from a schedule, pass start= (the job's creation time)"
        )
    fires = _fires_in(job_spec(schedule), "schedule", start_ns(start), 2**63 - 1, n).at
    return pd.Series(pd.to_datetime(fires, unit="ns", utc=True))


def _pairs(planned: pd.Series, actual: pd.Series) -> Iterator[tuple[pd.Timestamp, float]]:
    for p, a in zip(planned, actual, strict=False):
        if pd.notna(p) and pd.notna(a):
            yield p, (a - p).total_seconds() * 1000


def plot_planned_vs_actual(
    triggers: pd.DataFrame,
    planned: str = "planned",
    actual: str = "actual",
    *,
    schedule: JobLike | None = None,
    start: datetime | str | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Lateness (actual − planned, in ms) of each trigger, against its planned time (UTC).

    ``triggers`` has one row per trigger with tz-aware times in columns ``planned`` and
    ``actual`` (e.g. recorded by a handler). Without a ``planned`` column, pass the job's
    ``schedule`` (or job dict) and creation time ``start``: the planned times then come from
    the schedule engine, the n-th planned fire paired with the n-th trigger. A fire that is
    already due when its turn comes (a schedule that matches no date fires at Go's zero time,
    year 1) is planned at the previous fire, or at ``start``.

    >>> df = pd.DataFrame({"planned": pd.to_datetime(["2026-01-01T00:00:10Z"]),
    ...                    "actual": pd.to_datetime(["2026-01-01T00:00:10.120Z"])})
    >>> fig, ax = plot_planned_vs_actual(df)  # one point at +120 ms
    """
    if actual not in triggers.columns:
        raise ValueError(f"no {actual!r} column; columns are {list(triggers.columns)}")
    if planned not in triggers.columns and schedule is None:
        raise ValueError(
            f"no {planned!r} column: name the column with planned=..., or pass schedule= and "
            "start= to compute planned times with the schedule engine"
        )
    got = _utc_times(triggers[actual], actual)
    if planned in triggers.columns:
        want = _utc_times(triggers[planned], planned)
    else:
        assert schedule is not None
        want = _planned_from_engine(schedule, start, len(got))
    pairs = list(_pairs(want, got))
    fig, ax = _axes(ax, (10, 4))
    x = _date_num([p.value for p, _ in pairs])
    late = np.array([ms for _, ms in pairs], dtype=float)
    ax.axhline(0, color="0.4", linewidth=1)
    ax.vlines(x, 0, late, color="C0", alpha=0.4, linewidth=1)
    ax.scatter(x, late, s=14, color="C0", zorder=3, label="one trigger")
    locator = mdates.AutoDateLocator(tz=ZoneInfo("UTC"))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=ZoneInfo("UTC")))
    ax.set_xlabel("planned fire time (UTC)")
    ax.set_ylabel("lateness (ms), actual − planned")
    summary = "no triggers"
    if len(late):
        summary = (f"{len(late):,} triggers, median {np.median(late):,.0f} ms, "
                   f"max {late.max():,.0f} ms late")
    ax.set_title(f"Planned vs actual fire times: {summary}")
    unmatched = abs(len(want) - len(got))
    if unmatched:
        ax.annotate(f"{unmatched} planned or actual time(s) had no partner and are not shown",
                    xy=(1, 1), xycoords="axes fraction", xytext=(0, 4),
                    textcoords="offset points", ha="right", va="bottom", fontsize="small")
    ax.grid(alpha=0.3)
    return fig, ax
