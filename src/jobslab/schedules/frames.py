"""Fire times as a pandas DataFrame: the table a learner looks at before trusting a schedule."""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ._gotime import GO_ZERO_NS
from ._job import JobTiming
from ._jobspec import JobLike, job_spec, start_ns, zone

__all__ = ["next_fires"]

_MIN_NS = -(1 << 63)
_DAY_NS = 86_400 * 10**9


def next_fires(
    schedule: JobLike | None = None,
    n: int = 10,
    start: datetime | str | None = None,
    tz: str | ZoneInfo | None = None,
    *,
    due_time: str | None = None,
    ttl: str | None = None,
    repeats: int | None = None,
) -> pd.DataFrame:
    """The next ``n`` times Dapr's Scheduler fires a job, one row per fire.

    ``schedule`` is a Jobs API schedule (``"0 30 9 * * MON-FRI"``, ``"@every 10s"``) or a whole
    job dict as you would POST it (``{"schedule": ..., "dueTime": ..., "ttl": ...}``).
    ``start`` is the job's creation time (timezone-aware; default: now, UTC). ``due_time``,
    ``ttl`` and ``repeats`` behave exactly as in Dapr (docs/dapr-behaviour.md#timing): the
    first fire is at ``dueTime`` when there is one, ``ttl`` counts from ``dueTime`` when set,
    and the job stops after ``repeats`` fires — so the table may have fewer than ``n`` rows.

    Columns:

    - ``fire_time_utc``: when the trigger fires (tz-aware, UTC — what Dapr evaluates in);
    - ``local_time``: the same instant in ``tz`` (or in the schedule's ``CRON_TZ=`` zone);
      only present when there is a zone to show;
    - ``weekday``: day name, local when ``local_time`` is present, else UTC;
    - ``gap``: time since the previous fire (``NaT`` on the first row; the creation time is
      in ``df.attrs["created"]``).

    A schedule that never matches (``"0 0 0 31 2 *"``) gives rows at 0001-01-01 00:00 UTC,
    Go's zero time, which is when Dapr computes them (it then fires them at once, back to
    back); ``local_time`` is ``NaT`` for them and ``df.attrs["note"]`` explains.

    Raises :class:`ScheduleError` with Dapr's own message for anything Dapr would reject.

    >>> next_fires("0 30 9 * * MON-FRI", n=3, start="2026-01-01T00:00:00Z")  # doctest: +SKIP
          fire_time_utc   weekday             gap
    fire
    1 2026-01-01 09:30:00+00:00  Thursday             NaT
    2 2026-01-02 09:30:00+00:00    Friday 1 days 00:00:00
    3 2026-01-05 09:30:00+00:00    Monday 3 days 00:00:00
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a whole number of fires (0 or more), got {n!r}")
    spec = job_spec(schedule, due_time=due_time, ttl=ttl, repeats=repeats)
    created = start_ns(start)
    timing = spec.timing(created)
    fires = list(islice(timing.iter_ns(), n))
    df = fires_frame(fires, local_zone=_display_zone(timing, tz), created_ns=timing.start_ns)
    if GO_ZERO_NS in fires:
        df.attrs["note"] = ZERO_TIME_NOTE
    return df


#: ``df.attrs["note"]`` when a fire time is Go's zero time.
ZERO_TIME_NOTE = (
    "0001-01-01 00:00:00 UTC is Go's zero time: the schedule matched nothing within five "
    "years, and Dapr's Scheduler takes that as a fire time that is always due. Such rows "
    "fire at once, back to back (hundreds of times a second), until the job is deleted or "
    "its repeats run out; a ttl does not stop them."
)


def _display_zone(timing: JobTiming, tz: str | ZoneInfo | None) -> ZoneInfo | None:
    local = zone(tz)
    if local is None:
        local = getattr(timing.parsed(), "zone", None)
    return local


def fires_frame(
    fires_ns: list[int], *, local_zone: ZoneInfo | None = None, created_ns: int | None = None
) -> pd.DataFrame:
    """The DataFrame :func:`next_fires` returns, for fire instants given in ns."""
    if fires_ns and min(fires_ns) < _MIN_NS:
        # Go's zero time (year 1) is outside what nanoseconds in an int64 reach (from 1677):
        # microseconds, which pandas holds back to year 1, do.
        micros = np.array([ns // 1000 for ns in fires_ns], dtype="datetime64[us]")
        utc = pd.DatetimeIndex(micros).tz_localize("UTC")
    else:
        utc = pd.DatetimeIndex(pd.to_datetime(fires_ns, unit="ns", utc=True))
    df = pd.DataFrame({"fire_time_utc": utc})
    shown = utc
    if local_zone is not None:
        # No local reading for Go's zero time: west of UTC it falls in year 0, which
        # pandas cannot print.
        shown = utc.tz_convert(local_zone).where(
            np.array([ns >= GO_ZERO_NS + _DAY_NS for ns in fires_ns], dtype=bool))
        df["local_time"] = shown
    df["weekday"] = pd.Series(shown.day_name(), dtype="string")
    df["gap"] = df["fire_time_utc"].diff()
    df.index = pd.RangeIndex(1, len(df) + 1, name="fire")
    if created_ns is not None:
        df.attrs["created"] = pd.Timestamp(created_ns, unit="ns", tz="UTC")
    return df
