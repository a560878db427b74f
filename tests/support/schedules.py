"""Schedule-engine tests: fire times as RFC 3339 strings, and aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

from jobslab.schedules import JobTiming, format_rfc3339, parse, parse_rfc3339


def next_fires(schedule: str, start: str, n: int = 5) -> list[str]:
    """The first ``n`` activations of ``schedule`` strictly after ``start`` (RFC 3339, UTC)."""
    sched = parse(schedule)
    t: int | None = parse_rfc3339(start)
    out: list[str] = []
    while len(out) < n:
        t = sched.next_ns(t)
        if t is None:
            break
        out.append(format_rfc3339(t))
    return out


def job_fire_strings(created: str, n: int = 10, **fields: object) -> list[str]:
    """Fire times of a job created at ``created``, as RFC 3339 strings."""
    timing = JobTiming.build(created=parse_rfc3339(created), **fields)  # type: ignore[arg-type]
    return [format_rfc3339(ns) for ns in islice(timing.iter_ns(), n)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
