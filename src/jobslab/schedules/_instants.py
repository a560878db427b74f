"""``dueTime`` and ``ttl``: RFC 3339, Go durations, ISO 8601 durations
(docs/dapr-behaviour.md#time-formats).

Mirrors go-etcd-cron ``builder.go`` ``parsePointInTime`` and dapr/kit
``time.ParseISO8601Duration``, including their quirks: ``PT0.5S`` is rejected (whole numbers
only), ``p1d`` is rejected (``P`` must be upper case), and a repeating ``R5/PT1H`` is rejected
with its own message.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import ScheduleError
from ._gotime import HOUR, MINUTE, SECOND, GoTimeError, parse_go_duration, parse_rfc3339


@dataclass(frozen=True)
class ISODuration:
    """A parsed ISO 8601 duration: calendar parts plus an exact part in nanoseconds."""

    years: int = 0
    months: int = 0
    days: int = 0
    nanos: int = 0
    repetition: int = -1  # -1: no R prefix


def _atoi(text: str, original: str) -> int:
    # strconv.Atoi: optional sign, ASCII digits, nothing else.
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(f"unsupported ISO8601 duration format: {original}")
    return int(text)


def parse_iso8601_duration(text: str) -> ISODuration:
    """dapr/kit ``time.ParseISO8601Duration``, quirks included.

    Unknown letters are skipped, so ``P1X`` parses as zero, exactly as in Dapr.
    """
    bad = ValueError(f"unsupported ISO8601 duration format: {text}")
    n = len(text)
    if n < 2:
        raise bad
    i = 0
    repetition = -1
    if text[0] == "R":
        while True:
            i += 1
            if i == n or text[i] == "/":
                break
        if i - 1 < 1:
            raise bad
        repetition = _atoi(text[1:i], text)
        i += 1
        if i >= n:
            return ISODuration(repetition=repetition)
    if text[i] != "P":
        raise bad
    i += 1
    start = i
    in_time = False
    years = months = days = nanos = 0
    while i < n:
        c = text[i]
        if c == "T":
            if start != i:
                raise bad
            in_time = True
            start = i + 1
        elif c in "YWD":
            if in_time or start == i:
                raise bad
            v = _atoi(text[start:i], text)
            if c == "Y":
                years = v
            elif c == "W":
                days += v * 7
            else:
                days += v
            start = i + 1
        elif c in "HS":
            if not in_time or start == i:
                raise bad
            v = _atoi(text[start:i], text)
            nanos += v * (HOUR if c == "H" else SECOND)
            start = i + 1
        elif c == "M":
            if start == i:
                raise bad
            v = _atoi(text[start:i], text)
            if in_time:
                nanos += v * MINUTE
            else:
                months = v
            start = i + 1
        i += 1
    return ISODuration(years, months, days, nanos, repetition)


def add_date(ns: int, years: int, months: int, days: int) -> int:
    """Go's ``t.AddDate(y, m, d)`` on a UTC instant (wall-clock calendar arithmetic)."""
    from ._gotime import civil_from_days, days_from_civil

    secs, frac = divmod(ns, SECOND)
    day, rem = divmod(secs, 86400)
    y, m, d = civil_from_days(day)
    y += years
    m += months
    # Go normalises month overflow first, then the day (so Jan 31 + 1 month = Mar 3).
    y += (m - 1) // 12
    m = (m - 1) % 12 + 1
    new_day = days_from_civil(y, m, 1) + d - 1 + days
    return (new_day * 86400 + rem) * SECOND + frac


def parse_point_in_time(text: str, now_ns: int, *, field: str = "dueTime") -> int:
    """An absolute instant (ns) for a ``dueTime``/``ttl`` string, relative ones from ``now_ns``.

    Formats are tried in Dapr's order: RFC 3339, Go duration, ISO 8601 duration.
    Raises :class:`ScheduleError` with Dapr's message (``due time format not recognized``,
    ``repeats not supported for due time``).
    """
    try:
        return parse_rfc3339(text)
    except GoTimeError:
        pass
    try:
        return now_ns + parse_go_duration(text)
    except GoTimeError:
        pass
    try:
        iso = parse_iso8601_duration(text)
    except ValueError:
        raise ScheduleError("due time format not recognized", field=field) from None
    if iso.repetition > 0:
        raise ScheduleError("repeats not supported for due time", field=field)
    return add_date(now_ns, iso.years, iso.months, iso.days) + iso.nanos
