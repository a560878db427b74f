"""Cron schedules exactly as Dapr's Scheduler parses and evaluates them
(docs/dapr-behaviour.md#schedule-grammar).

A line-by-line model of dapr/kit ``cron`` (the robfig/cron fork the Scheduler uses, built
with ``Second|Minute|Hour|Dom|Month|Dow|Descriptor``): the same grammar, the same error
messages, the same "star bit" rule for day-of-month vs day-of-week, the same five-year search
limit, and the same daylight-saving behaviour (absolute hour/minute/second steps, wall-clock
day and month steps, Go's ``time.Date`` normalisation). croniter differs from it on about a
fifth of real schedules (docs/dapr-behaviour.md#where-croniter-differs), so it is used here
only as a benchmark baseline, never to decide when a job fires.

Instants are integer nanoseconds since the Unix epoch (Go's resolution); the public wrappers
in :mod:`jobslab.schedules` convert to and from timezone-aware datetimes.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._errors import ScheduleError
from ._gotime import (
    SECOND,
    GoTimeError,
    _days_in_month,
    civil_from_days,
    days_from_civil,
    parse_go_duration,
)

STAR_BIT = 1 << 63

# Unicode White_Space, which is what Go's unicode.IsSpace (and so strings.Fields) splits on.
# Python's str.split() also splits on \x1c-\x1f, which Go does not.
GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class _Bounds:
    lo: int
    hi: int
    names: dict[str, int] | None = None


SECONDS = _Bounds(0, 59)
MINUTES = _Bounds(0, 59)
HOURS = _Bounds(0, 23)
DOM = _Bounds(1, 31)
MONTHS = _Bounds(
    1,
    12,
    {m: i + 1 for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )},
)
DOW = _Bounds(0, 6, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])})
FIELD_BOUNDS = (SECONDS, MINUTES, HOURS, DOM, MONTHS, DOW)
FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")

DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}


def go_fields(text: str) -> list[str]:
    """Go's ``strings.Fields``."""
    out: list[str] = []
    cur: list[str] = []
    for ch in text:
        if ch in GO_SPACE:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def go_trim_space(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in GO_SPACE:
        start += 1
    while end > start and text[end - 1] in GO_SPACE:
        end -= 1
    return text[start:end]


def _go_atoi(expr: str) -> int:
    from ._gotime import go_quote

    body = expr[1:] if expr[:1] in ("+", "-") else expr
    if not body or not body.isascii() or not body.isdigit():
        raise ScheduleError(
            f"failed to parse int from {expr}: strconv.Atoi: parsing {go_quote(expr)}: "
            "invalid syntax"
        )
    value = int(expr)
    if not -(1 << 63) <= value < (1 << 63):
        raise ScheduleError(
            f"failed to parse int from {expr}: strconv.Atoi: parsing {go_quote(expr)}: "
            "value out of range"
        )
    return value


def _must_parse_int(expr: str) -> int:
    num = _go_atoi(expr)
    if num < 0:
        raise ScheduleError(f"negative number ({num}) not allowed: {expr}")
    return num


def _parse_int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _must_parse_int(expr)


def _get_bits(lo: int, hi: int, step: int) -> int:
    bits = 0
    for i in range(lo, hi + 1, step):
        bits |= 1 << i
    return bits


def _get_range(expr: str, r: _Bounds) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single_digit = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = r.lo, r.hi, STAR_BIT
    else:
        start = _parse_int_or_name(low_and_high[0], r.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], r.names)
        else:
            raise ScheduleError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        # Special handling: "N/step" means "N-max/step".
        if single_digit:
            end = r.hi
        if step > 1:
            extra = 0
    else:
        raise ScheduleError(f"too many slashes: {expr}")
    if start < r.lo:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({r.lo}): {expr}")
    if end > r.hi:
        raise ScheduleError(f"end of range ({end}) above maximum ({r.hi}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")
    return _get_bits(start, end, step) | extra


def _get_field(text: str, r: _Bounds) -> int:
    bits = 0
    for expr in (part for part in text.split(",") if part):
        bits |= _get_range(expr, r)
    return bits


def _values(bits: int, r: _Bounds) -> tuple[int, ...]:
    return tuple(v for v in range(r.lo, r.hi + 1) if bits >> v & 1)


@lru_cache(maxsize=256)
def load_location(name: str) -> ZoneInfo | None:
    """Go's ``time.LoadLocation``; ``None`` stands for UTC/Local (evaluated in UTC)."""
    if name in ("", "UTC", "Local"):
        return None
    if ".." in name or name.startswith(("/", "\\")):
        raise ScheduleError(f"provided bad location {name}: time: invalid location name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"provided bad location {name}: unknown time zone {name}") from None


# Offsets are looked up in per-zone tables of transitions, built lazily for chunks of about a
# year (2**25 s) by sampling the zone every three days and bisecting each change to the second.
# That is exact as long as no two transitions of a zone lie within three days of each other:
# the closest pair in tzdata since 1970 is ~7 days apart (Brazil 2000, Gaza/Hebron rules).
_CHUNK_BITS = 25
_SAMPLE = 3 * 86400
#: 0001-01-02T00:00:00Z: the earliest instant whose offset is looked up as such (see _exact).
_EARLIEST_LOOKUP = -62_135_596_800 + 86400


class _Clock:
    """Go time arithmetic for one location, on whole Unix seconds."""

    __slots__ = ("_chunks", "_zone")

    def __init__(self, zone: ZoneInfo | None) -> None:
        self._zone = zone
        self._chunks: dict[int, tuple[list[int], list[int]]] = {}

    def _exact(self, unix: int) -> int:
        # Python's datetime stops at year 1, which a job reaches (go-etcd-cron feeds Go's zero
        # time back into Next, see _job.py). No zone changes offset that early, so the offset
        # a day later is the same one, the zone's first (local mean time, mostly), as in Go.
        unix = max(unix, _EARLIEST_LOOKUP)
        off = datetime.fromtimestamp(unix, self._zone).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def _table(self, chunk: int) -> tuple[list[int], list[int]]:
        table = self._chunks.get(chunk)
        if table is None:
            lo = chunk << _CHUNK_BITS
            hi = lo + (1 << _CHUNK_BITS)
            starts, offsets = [lo], [self._exact(lo)]
            prev_t, prev_off = lo, offsets[0]
            t = lo
            while t < hi:
                t = min(t + _SAMPLE, hi)
                off = self._exact(t)
                if off != prev_off:
                    a, b = prev_t, t  # offset(a) == prev_off != offset(b)
                    while b - a > 1:
                        mid = (a + b) // 2
                        if self._exact(mid) == prev_off:
                            a = mid
                        else:
                            b = mid
                    starts.append(b)
                    offsets.append(off)
                prev_t, prev_off = t, off
            table = (starts, offsets)
            self._chunks[chunk] = table
        return table

    def offset(self, unix: int) -> int:
        if self._zone is None:
            return 0
        chunk = unix >> _CHUNK_BITS
        starts, offsets = self._chunks.get(chunk) or self._table(chunk)
        if len(starts) == 1:
            return offsets[0]
        return offsets[bisect_right(starts, unix) - 1]

    def first_change(self, a: int, b: int) -> int | None:
        """The first instant in ``(a, b]`` where the offset differs from ``a``'s, if any."""
        if self._zone is None:
            return None
        off = self.offset(a)
        first = a >> _CHUNK_BITS
        for chunk in range(first, (b >> _CHUNK_BITS) + 1):
            starts, offsets = self._table(chunk)
            i = bisect_right(starts, a) if chunk == first else 0
            for k in range(i, bisect_right(starts, b)):
                if offsets[k] != off:
                    return starts[k]
        return None

    def fields(self, unix: int) -> tuple[int, int, int, int, int, int, int, int]:
        """(year, month, day, hour, minute, second, weekday, offset) in this location."""
        off = self.offset(unix)
        days, rem = divmod(unix + off, 86400)
        y, m, d = civil_from_days(days)
        hh, rem = divmod(rem, 3600)
        mm, ss = divmod(rem, 60)
        return y, m, d, hh, mm, ss, (days + 4) % 7, off

    def date(self, y: int, mo: int, d: int, hh: int, mi: int, ss: int) -> int:
        """Go's ``time.Date`` in this location, normalisation and DST choice included."""
        y += (mo - 1) // 12
        mo = (mo - 1) % 12 + 1
        local = (days_from_civil(y, mo, 1) + d - 1) * 86400 + hh * 3600 + mi * 60 + ss
        if self._zone is None:
            return local
        off = self.offset(local)
        if off != 0:
            off = self.offset(local - off)
        return local - off


_UTC_CLOCK = _Clock(None)

#: Shortcuts in Next that skip Go's one-step-at-a-time loops where the outcome is provably the
#: same. Tests switch them off to check exactly that.
JUMPS = True


@lru_cache(maxsize=64)
def _clock(zone: ZoneInfo) -> _Clock:
    return _Clock(zone)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed 6-field cron expression or descriptor (``@daily`` …)."""

    text: str
    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    #: The zone of a ``TZ=``/``CRON_TZ=`` prefix; ``None`` when there is none.
    zone: ZoneInfo | None = None
    zone_name: str | None = None
    #: The 6-field form, e.g. ``"0 0 0 * * *"`` for ``@daily``.
    fields: tuple[str, ...] = ()
    descriptor: str | None = None
    _sorted: tuple[tuple[int, ...], ...] = field(default=(), repr=False, compare=False)
    #: No second ever matches (an empty field such as ``,``, or a date no month has, such as
    #: February 31st): Go's Next searches five years and gives up (returns the zero time); the
    #: answer is known at once.
    _never: bool = field(default=False, repr=False, compare=False)
    _day_cache: dict[tuple[int, int], tuple[int, ...]] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    @property
    def is_every(self) -> bool:
        return False

    @property
    def never_matches(self) -> bool:
        """No instant ever matches (a field left empty, or a day no allowed month has, such as
        ``0 0 0 31 2 *``): :meth:`next_ns` is always ``None`` (Go's zero time)."""
        return self._never

    def _month_days(self, last: int, first_wd: int) -> tuple[int, ...]:
        """The matching days of a month with ``last`` days starting on weekday ``first_wd``."""
        key = (last, first_wd)
        days = self._day_cache.get(key)
        if days is None:
            both = bool(self.dom & STAR_BIT or self.dow & STAR_BIT)
            days = tuple(
                day for day in range(1, last + 1)
                if (
                    (self.dom >> day & 1 and self.dow >> (first_wd + day - 1) % 7 & 1)
                    if both
                    else (self.dom >> day & 1 or self.dow >> (first_wd + day - 1) % 7 & 1)
                )
            )
            self._day_cache[key] = days
        return days

    def values(self, index: int) -> tuple[int, ...]:
        """The values field ``index`` (0 = seconds … 5 = weekday) allows."""
        return self._sorted[index]

    def next_ns(self, t_ns: int, default_zone: ZoneInfo | None = None) -> int | None:
        """The first activation strictly after ``t_ns``; ``None`` if none within five years.

        ``None`` stands for what Go's ``Next`` returns then: the zero time (``GO_ZERO_NS``,
        0001-01-01). Its callers read that differently: the cron binding's runner (dapr/kit
        ``cron/cron.go``) treats a zero ``Next`` as "never", while the Scheduler
        (go-etcd-cron) takes it as a fire time that is always due, so a job on a schedule
        that never matches fires in a tight loop (:meth:`JobTiming.next_ns`).

        ``default_zone`` is where a schedule without a prefix is evaluated: UTC for the
        Scheduler (docs/dapr-behaviour.md#time-zone), the sidecar's local zone for a cron
        binding (docs/dapr-behaviour.md#cron-bindings).
        """
        if self._never:
            return None
        zone = self.zone if self.zone is not None else default_zone
        clock = _UTC_CLOCK if zone is None else _clock(zone)
        # dapr/kit cron/spec.go SpecSchedule.Next (same versions as constantdelay.go below):
        # "Start at the earliest possible time (the upcoming second)":
        # t.Add(1*time.Second - time.Duration(t.Nanosecond())*time.Nanosecond), so a cron
        # fire is always on a whole second, whatever the sub-second part of t.
        unix = t_ns // SECOND + 1
        result = _spec_next(self, clock, unix)
        return None if result is None else result * SECOND


def _next_in(values: tuple[int, ...], cur: int) -> int | None:
    for v in values:
        if v > cur:
            return v
    return None


def _next_day(s: CronSchedule, y: int, mo: int, d: int, wd: int) -> int:
    """The next day after ``d`` in this month that matches, else the 1st of the next month
    (given as day ``last + 1``, which ``time.Date`` normalises)."""
    last = _days_in_month(y, mo)
    days = s._month_days(last, (wd - d + 1) % 7)
    i = bisect_right(days, d)
    return days[i] if i < len(days) else last + 1


def _spec_next(s: CronSchedule, clock: _Clock, unix: int) -> int | None:
    secs, mins, hours, months = s._sorted[0], s._sorted[1], s._sorted[2], s._sorted[4]
    y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
    added = False
    year_limit = y + 5
    dom_star = bool(s.dom & STAR_BIT)
    dow_star = bool(s.dow & STAR_BIT)

    def day_matches(d: int, wd: int) -> bool:
        dom_match = bool(s.dom >> d & 1)
        dow_match = bool(s.dow >> wd & 1)
        if dom_star or dow_star:
            return dom_match and dow_match
        return dom_match or dow_match

    while True:  # WRAP
        if y > year_limit:
            return None
        wrapped = False
        while not s.month >> mo & 1:
            if not added:
                added = True
                unix = clock.date(y, mo, 1, 0, 0, 0)
                y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            # Go steps one month at a time (AddDate(0, 1, 0)); from a month's first midnight,
            # with no offset change on the way, that lands on the next allowed month's first
            # midnight (or January's, which wraps), so jump there.
            target = _next_in(months, mo)
            cand = clock.date(y, target if target is not None else 13, 1, 0, 0, 0)
            if JUMPS and d == 1 and hh == mi == ss == 0 and clock.first_change(unix, cand) is None:
                unix = cand
            else:
                unix = clock.date(y, mo + 1, d, hh, mi, ss)
            y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            if mo == 1:
                wrapped = True
                break
        if wrapped:
            continue

        while not day_matches(d, wd):
            if not added:
                added = True
                unix = clock.date(y, mo, d, 0, 0, 0)
                y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            # Go steps one day at a time (AddDate(0, 0, 1)); from midnight, with no offset
            # change on the way, that reaches the next matching day of this month or the 1st
            # of the next (which wraps), so jump there.
            # Across an offset change, jump to the last midnight before it and step from there.
            cand = clock.date(y, mo, _next_day(s, y, mo, d, wd), 0, 0, 0)
            change = clock.first_change(unix, cand) if JUMPS and hh == mi == ss == 0 else unix
            if change is None:
                unix = cand
            elif (before := ((change - 1 + off) // 86400) * 86400 - off) > unix:
                unix = before
            else:
                unix = clock.date(y, mo, d + 1, hh, mi, ss)
            y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            # Notice if the hour is no longer midnight due to DST.
            if hh != 0:
                unix += (24 - hh) * 3600 if hh > 12 else -hh * 3600
                y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            if d == 1:
                wrapped = True
                break
        if wrapped:
            continue

        while not s.hour >> hh & 1:
            if not added:
                added = True
                unix = clock.date(y, mo, d, hh, 0, 0)
                y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            # Jump straight to the next allowed hour when no offset change lies between;
            # otherwise step one absolute hour at a time, as Go does.
            target = _next_in(hours, hh)
            step = (target - hh) if target is not None else (24 - hh)
            cand = unix + step * 3600
            if JUMPS and step > 1 and clock.offset(cand) == off:
                unix = cand
            else:
                unix += 3600
            y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            if hh == 0:
                wrapped = True
                break
        if wrapped:
            continue

        while not s.minute >> mi & 1:
            if not added:
                added = True
                unix -= unix % 60  # t.Truncate(time.Minute)
                y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            target = _next_in(mins, mi)
            step = (target - mi) if target is not None else (60 - mi)
            cand = unix + step * 60
            if JUMPS and step > 1 and clock.offset(cand) == off:
                unix = cand
            else:
                unix += 60
            y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            if mi == 0:
                wrapped = True
                break
        if wrapped:
            continue

        while not s.second >> ss & 1:
            added = True  # t.Truncate(time.Second) is a no-op on whole seconds
            target = _next_in(secs, ss)
            step = (target - ss) if target is not None else (60 - ss)
            if JUMPS and off % 60 == 0:
                unix += step
            else:
                unix += 1
            y, mo, d, hh, mi, ss, wd, off = clock.fields(unix)
            if ss == 0:
                wrapped = True
                break
        if wrapped:
            continue

        return unix


@dataclass(frozen=True)
class EverySchedule:
    """``@every <Go duration>``: a fixed delay counted from the previous scheduled time."""

    text: str
    delay_ns: int

    @property
    def is_every(self) -> bool:
        return True

    @property
    def never_matches(self) -> bool:
        return False

    zone: None = None
    zone_name: None = None
    descriptor: str = "@every"

    def next_ns(self, t_ns: int, default_zone: ZoneInfo | None = None) -> int | None:
        # dapr/kit cron/constantdelay.go (read at v0.17.0, v0.17.1 and main 6e5616a, all
        # alike; Dapr 1.18.3 builds with v0.18.3): Next(t) is t.Add(schedule.Delay) and
        # Every(d) keeps d as is, with no rounding of t or of the delay (the millisecond
        # rounding was removed in 9d4f384, #129, before v0.16.0). So "@every 1us" fires every
        # microsecond and "@every 1m" from 10:00:00.5 fires at 10:01:00.5.
        return t_ns + self.delay_ns


Schedule = CronSchedule | EverySchedule


def _spec_from_fields(text: str, fields: list[str], zone: ZoneInfo | None,
                      zone_name: str | None, descriptor: str | None = None) -> CronSchedule:
    bits = [_get_field(f, b) for f, b in zip(fields, FIELD_BOUNDS, strict=True)]
    sorted_values = tuple(_values(b, r) for b, r in zip(bits, FIELD_BOUNDS, strict=True))
    return CronSchedule(
        text=text,
        second=bits[0],
        minute=bits[1],
        hour=bits[2],
        dom=bits[3],
        month=bits[4],
        dow=bits[5],
        zone=zone,
        zone_name=zone_name,
        fields=tuple(fields),
        descriptor=descriptor,
        _sorted=sorted_values,
        _never=_never_matches(bits, sorted_values),
    )


def _never_matches(bits: list[int], values: tuple[tuple[int, ...], ...]) -> bool:
    if not all(values[i] for i in (0, 1, 2, 4)):
        return True
    dom_star, dow_star = bool(bits[3] & STAR_BIT), bool(bits[5] & STAR_BIT)
    if dom_star or dow_star:
        if not (values[3] and values[5]):
            return True
        # Both must match: a day of the month no allowed month has (the 31st of February) never
        # comes. Every weekday comes in every month, so only the days need checking.
        longest = max(_LONGEST_MONTH[m - 1] for m in values[4])
        return min(values[3]) > longest
    return not (values[3] or values[5])


#: The most days each month can have (February: 29, in leap years).
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@lru_cache(maxsize=4096)
def parse_schedule(spec: str, *, seconds_optional: bool = False) -> Schedule:
    """Parse a Jobs API ``schedule`` as the Scheduler does; raise :class:`ScheduleError`.

    ``seconds_optional=True`` gives the cron *binding*'s parser instead
    (docs/dapr-behaviour.md#cron-bindings), which
    also accepts 5 fields, minute first.
    """
    text = spec
    if len(spec) == 0:
        raise ScheduleError("empty spec string")
    zone: ZoneInfo | None = None
    zone_name: str | None = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        i = next((k for k, ch in enumerate(spec) if ch in GO_SPACE), -1)
        eq = spec.index("=")
        if i == -1:
            raise ScheduleError(f"timezone prefix {spec} is not followed by a schedule")
        zone_name = spec[eq + 1 : i]
        zone = load_location(zone_name)
        spec = go_trim_space(spec[i:])
        if spec.startswith("@every "):
            # Dapr 1.18.3 rejects this (release notes "Timezone prefix silently ignored on
            # @every job schedules"); the wording, and that "@everyday" after a prefix is an
            # unrecognized descriptor instead, as observed on the 1.18.3 binaries.
            raise ScheduleError(f"timezone is not supported for @every schedules: {text}")
    if spec.startswith("@"):
        if spec in DESCRIPTORS:
            return _spec_from_fields(text, DESCRIPTORS[spec].split(), zone, zone_name, spec)
        if spec.startswith("@every "):
            try:
                delay = parse_go_duration(spec[len("@every "):])
            except GoTimeError as exc:
                raise ScheduleError(f"failed to parse duration {spec}: {exc}") from None
            return EverySchedule(text=text, delay_ns=delay)
        raise ScheduleError(f"unrecognized descriptor: {spec}")
    fields = go_fields(spec)
    lo, hi = (5, 6) if seconds_optional else (6, 6)
    if not lo <= len(fields) <= hi:
        shown = "[" + " ".join(fields) + "]"
        if lo == hi:
            raise ScheduleError(f"expected exactly {lo} fields, found {len(fields)}: {shown}")
        raise ScheduleError(f"expected {lo} to {hi} fields, found {len(fields)}: {shown}")
    if len(fields) == 5:
        fields = ["0", *fields]
    return _spec_from_fields(text, fields, zone, zone_name)
