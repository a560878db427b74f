"""When Dapr jobs fire: one schedule engine for the stand-in, the lessons and the plots.

Parsing, validation and timing follow Dapr 1.18.3's Scheduler exactly (the rules, with their
sources: docs/dapr-behaviour.md#schedule-grammar and docs/dapr-behaviour.md#timing):

>>> from jobslab import schedules
>>> s = schedules.parse("0 30 9 * * MON-FRI")
>>> schedules.parse("*/5 * * * *")
Traceback (most recent call last):
...
jobslab.schedules._errors.ScheduleError: expected exactly 6 fields, found 5: [*/5 * * * *]
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._cron import CronSchedule, EverySchedule, Schedule, parse_schedule
from ._errors import ScheduleError
from ._gotime import (
    GoTimeError,
    datetime_to_ns,
    format_go_duration,
    format_rfc3339,
    ns_to_datetime,
    parse_go_duration,
    parse_rfc3339,
)
from ._instants import parse_iso8601_duration, parse_point_in_time
from ._job import JobTiming, job_fires
from .describe import describe
from .lint import Finding, lint

if TYPE_CHECKING:  # for editors and type checkers; at run time these load lazily
    from .frames import next_fires
    from .plots import plot_heatmap, plot_planned_vs_actual, plot_timeline

# Learner-facing helpers that need pandas/matplotlib load on first use, so the stand-in's
# scheduler (which only needs the engine) starts fast.
_LAZY = {
    "next_fires": "frames",
    "plot_timeline": "plots",
    "plot_heatmap": "plots",
    "plot_planned_vs_actual": "plots",
}

__all__ = [
    "CronSchedule",
    "EverySchedule",
    "Finding",
    "GoTimeError",
    "JobTiming",
    "Schedule",
    "ScheduleError",
    "datetime_to_ns",
    "describe",
    "format_go_duration",
    "format_rfc3339",
    "job_fires",
    "lint",
    "next_after",
    "next_fires",
    "ns_to_datetime",
    "parse",
    "parse_go_duration",
    "parse_iso8601_duration",
    "parse_point_in_time",
    "parse_rfc3339",
    "plot_heatmap",
    "plot_planned_vs_actual",
    "plot_timeline",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse(schedule: str, *, seconds_optional: bool = False) -> Schedule:
    """Parse a Jobs API ``schedule`` exactly as Dapr's Scheduler does.

    ``seconds_optional=True`` parses as a cron *binding* does instead: 5 fields (minute first)
    or 6 (seconds first). Raises :class:`ScheduleError` with Dapr's own message for anything
    it rejects.
    """
    return parse_schedule(schedule, seconds_optional=seconds_optional)


def validate(schedule: str) -> str | None:
    """``None`` when Dapr accepts ``schedule``, else Dapr's error message."""
    try:
        parse_schedule(schedule)
    except ScheduleError as exc:
        return exc.message
    return None


def next_after(schedule: str, t: datetime) -> datetime | None:
    """The first fire time of ``schedule`` strictly after ``t`` (UTC unless a TZ prefix)."""
    ns = parse_schedule(schedule).next_ns(datetime_to_ns(t))
    return None if ns is None else ns_to_datetime(ns)
