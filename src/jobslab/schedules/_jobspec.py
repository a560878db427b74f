"""What the learner-facing helpers accept: a schedule string or a job dict as POSTed to Dapr.

Shared by :mod:`.frames`, :mod:`.describe`, :mod:`.lint` and :mod:`.plots`, so that every one of
them reads a job the same way daprd does: lowerCamel and proto field names both work
(docs/dapr-behaviour.md#request-body).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ._gotime import datetime_to_ns
from ._job import JobTiming

#: JSON names daprd accepts for each field of a job (lowerCamel first, then the proto name).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "schedule": ("schedule",),
    "due_time": ("dueTime", "due_time"),
    "ttl": ("ttl",),
    "repeats": ("repeats",),
    "data": ("data",),
    "failure_policy": ("failurePolicy", "failure_policy"),
    "overwrite": ("overwrite",),
    "name": ("name",),
}
KNOWN_KEYS = frozenset(k for names in FIELD_ALIASES.values() for k in names)

#: What a job can be given as: a schedule string, or a job body (a dict).
JobLike = str | Mapping[str, Any]


@dataclass(frozen=True)
class JobSpec:
    """A job's fields under one spelling, plus whatever else the dict held."""

    schedule: Any = None
    due_time: Any = None
    ttl: Any = None
    repeats: Any = None
    data: Any = None
    failure_policy: Any = None
    overwrite: Any = None
    name: Any = None
    #: Keys as the user wrote them, for each field that was present.
    spelled: dict[str, str] = field(default_factory=dict)
    #: Keys daprd does not know (it ignores them silently).
    unknown: tuple[str, ...] = ()

    def timing(self, created_ns: int) -> JobTiming:
        """Validate like the Scheduler and resolve relative times (raises ScheduleError)."""
        return JobTiming.build(
            schedule=self.schedule,
            due_time=self.due_time,
            ttl=self.ttl,
            repeats=self.repeats,
            created=created_ns,
        )


def job_spec(job: JobLike | None, **overrides: Any) -> JobSpec:
    """Read a schedule string or a job dict; keyword ``overrides`` that are not None win."""
    values: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    unknown: list[str] = []
    if isinstance(job, str):
        values["schedule"] = job
        spelled["schedule"] = "schedule"
    elif isinstance(job, Mapping):
        for key in job:
            canon = next((c for c, names in FIELD_ALIASES.items() if key in names), None)
            if canon is None:
                unknown.append(str(key))
            elif canon not in values:
                values[canon] = job[key]
                spelled[canon] = str(key)
    elif job is not None:
        raise TypeError(
            f"expected a schedule string or a job dict, got {type(job).__name__}: {job!r}"
        )
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            spelled[key] = key
    return JobSpec(**values, spelled=spelled, unknown=tuple(unknown))


def iter_jobs(jobs: Mapping[str, JobLike] | JobLike | list[Any]) -> Iterator[tuple[str, JobSpec]]:
    """(label, spec) for a dict name→schedule/job, a list of jobs, or a single job."""
    if isinstance(jobs, str):
        yield jobs, job_spec(jobs)
    elif isinstance(jobs, Mapping) and not (KNOWN_KEYS & set(jobs)):
        for name, job in jobs.items():
            yield str(name), job_spec(job)
    elif isinstance(jobs, Mapping):
        spec = job_spec(jobs)
        yield str(spec.name or spec.schedule or "job"), spec
    else:
        for i, job in enumerate(jobs):
            spec = job_spec(job)
            label = spec.name if spec.name else spec.schedule if spec.schedule else f"job {i + 1}"
            yield str(label), spec


def start_ns(start: datetime | str | None, what: str = "start") -> int:
    """Nanoseconds for a creation time: ``None`` is now (UTC); naive datetimes are refused."""
    if start is None:
        return datetime_to_ns(datetime.now(UTC))
    if isinstance(start, str):
        import pandas as pd

        start = pd.Timestamp(start).to_pydatetime()
    if not isinstance(start, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(start).__name__}: {start!r}")
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(
            f"{what}={start!r} has no time zone, so it is ambiguous. Dapr works in UTC: pass "
            f"{what}=datetime({start.year}, {start.month}, {start.day}, tzinfo=timezone.utc) "
            f"or {what}=\"{start.date().isoformat()}T00:00:00Z\" (or .replace(tzinfo=...) "
            "with your zone)."
        )
    return datetime_to_ns(start)


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone(tz: str | ZoneInfo | None) -> ZoneInfo | None:
    """A ZoneInfo for an IANA name; an unknown name is a ValueError that suggests close ones."""
    if tz is None or isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str):
        raise TypeError(f"tz must be an IANA zone name such as 'Europe/Berlin', got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(tz, _zone_names(), n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/Berlin' or "
            f"'America/New_York'.{hint}"
        ) from None
