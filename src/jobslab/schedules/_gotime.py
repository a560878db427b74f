"""Go's ``time`` package, the parts the Scheduler relies on, in integer nanoseconds.

Dapr parses durations with Go's ``time.ParseDuration`` and instants with
``time.Parse(time.RFC3339, ...)`` (go-etcd-cron ``builder.go`` ``parsePointInTime``).
Python's own parsers accept different inputs, so both are re-implemented here with Go's
grammar and Go's error wording (docs/dapr-behaviour.md#time-formats).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import JobslabError

NS = 1
US = 1_000
MS = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NS,
    "us": US,
    "µs": US,  # U+00B5 micro sign
    "μs": US,  # U+03BC Greek small letter mu
    "ms": MS,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}

_MAX_INT64 = (1 << 63) - 1
_LIMIT = 1 << 63


class GoTimeError(JobslabError, ValueError):
    """A value Go's ``time`` package rejects; the message is Go's, word for word."""


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """``s`` as Go's ``strconv.Quote`` (``%q``) writes it: printable runes as they are, the
    C escapes, ``\\xNN`` below U+0080, ``\\uNNNN`` / ``\\UNNNNNNNN`` above."""
    out = []
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def go_time_quote(s: str) -> str:
    """``s`` as Go's ``time`` package quotes it in its errors (``time.quote``, not
    ``strconv.Quote``): ``"`` and ``\\`` escaped, and every byte of a non-ASCII or control
    character written as ``\\xNN`` — ``unknown unit "h\\xc3\\xa9"``, where ``%q`` would keep
    ``é``."""
    out = []
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{byte:02x}" for byte in ch.encode("utf-8", "surrogatepass"))
        elif ch in '"\\':
            out.append("\\" + ch)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def parse_go_duration(s: str) -> int:
    """Go's ``time.ParseDuration``: ``"1h30m"``, ``"1.5s"``, ``"-10s"``, ``"500ms"``, ``"0"``.

    Returns nanoseconds. Raises :class:`GoTimeError` with Go's message.
    """
    orig = s
    neg = False
    if s and s[0] in "-+":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
    total = 0  # Go accumulates in a uint64 and allows 1<<63 (for the negative minimum)
    while s:
        # The next character must be [0-9.]
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
        # leadingInt: [0-9]*, overflowing past 1<<63.
        i, v = 0, 0
        while i < len(s) and "0" <= s[i] <= "9":
            if v > _LIMIT // 10:
                raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
            v = v * 10 + ord(s[i]) - 48
            if v > _LIMIT:
                raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
            i += 1
        pre = i > 0
        s = s[i:]
        # leadingFraction: (\.[0-9]*)?, digits past what fits are read and ignored.
        frac, scale, post = 0, 1, False
        if s.startswith("."):
            s = s[1:]
            i, overflow = 0, False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if frac > _MAX_INT64 // 10:
                        overflow = True
                    else:
                        y = frac * 10 + ord(s[i]) - 48
                        if y > _LIMIT:
                            overflow = True
                        else:
                            frac, scale = y, scale * 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
        i = 0
        while i < len(s) and s[i] != "." and not ("0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise GoTimeError(f"time: missing unit in duration {go_time_quote(orig)}")
        u = s[:i]
        s = s[i:]
        unit = _UNITS.get(u)
        if unit is None:
            raise GoTimeError(f"time: unknown unit {go_time_quote(u)} in duration "
                              f"{go_time_quote(orig)}")
        if v > _LIMIT // unit:
            raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
        v *= unit
        if frac > 0:
            # Go: v += uint64(float64(f) * (float64(unit) / scale))
            v += int(float(frac) * (float(unit) / float(scale)))
            if v > _LIMIT:
                raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
        total += v
        if total > _LIMIT:
            raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
    if neg:
        return -total
    if total > _MAX_INT64:
        raise GoTimeError(f"time: invalid duration {go_time_quote(orig)}")
    return total


def format_go_duration(ns: int) -> str:
    """Go's ``Duration.String()``: ``1h30m0s``, ``1.5s``, ``500ms``, ``0s``."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < SECOND:
        if u < US:
            text = f"{u}ns"
        elif u < MS:
            text = _fmt_frac(u, 3) + "µs"
        else:
            text = _fmt_frac(u, 6) + "ms"
    else:
        secs_ns = u % MINUTE
        text = _fmt_frac(secs_ns, 9) + "s"
        minutes = u // MINUTE
        if minutes:
            text = f"{minutes % 60}m" + text
            hours = minutes // 60
            if hours:
                text = f"{hours}h" + text
    return ("-" if neg else "") + text


def _fmt_frac(v: int, prec: int) -> str:
    whole, frac = divmod(v, 10**prec)
    if frac == 0:
        return str(whole)
    digits = f"{frac:0{prec}d}".rstrip("0")
    return f"{whole}.{digits}"


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([.,]\d+)?(Z|[+-]\d{2}:\d{2})\Z"
)


def parse_rfc3339(s: str) -> int:
    """Go's ``time.Parse(time.RFC3339, s)`` as nanoseconds since the Unix epoch.

    Fractional seconds are accepted (Go accepts them even though the layout has none),
    with ``.`` or ``,``; more than nine digits are truncated as Go does.
    """
    m = _RFC3339.match(s)
    if not m:
        raise GoTimeError(f"parsing time {go_time_quote(s)} as \"2006-01-02T15:04:05Z07:00\"")
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    frac = m.group(7)
    zone = m.group(8)
    if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and h < 24 and mi < 60 and sec < 60):
        raise GoTimeError(f"parsing time {go_time_quote(s)}: value out of range")
    nanos = 0
    if frac:
        digits = frac[1:10]
        nanos = int(digits.ljust(9, "0"))
    offset = 0
    if zone != "Z":
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh >= 24 or om >= 60:
            raise GoTimeError(f"parsing time {go_time_quote(s)}: time zone offset out of range")
        offset = (oh * 3600 + om * 60) * (-1 if zone[0] == "-" else 1)
    unix = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
    return unix * SECOND + nanos


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(y: int, m: int) -> int:
    if m == 2 and _is_leap(y):
        return 29
    return _MONTH_DAYS[m - 1]


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """Inverse of :func:`days_from_civil`: (year, month, day)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + (m <= 2), m, d)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Go's zero ``time.Time`` (0001-01-01T00:00:00Z) in nanoseconds since the Unix epoch. dapr/kit's
#: cron ``Next`` returns it when nothing matches within five years, and go-etcd-cron takes it as
#: a real fire time, one that is always already due (see ``JobTiming.next_ns``). It is far
#: below what an int64 of nanoseconds can hold (1677-09-21), so it lives only in Python ints.
GO_ZERO_NS = -62_135_596_800 * SECOND


def ns_to_datetime(ns: int) -> datetime:
    """UTC datetime for nanoseconds since the epoch (sub-microsecond digits are dropped)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_ns(dt: datetime) -> int:
    """Nanoseconds since the epoch for a timezone-aware datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"naive datetime {dt!r}: pass a timezone-aware datetime, "
            "e.g. datetime.now(timezone.utc)"
        )
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * SECOND + delta.microseconds * 1000


def format_rfc3339(ns: int) -> str:
    """RFC 3339 in UTC with as many fraction digits as needed, like Go's RFC3339Nano."""
    secs, frac = divmod(ns, SECOND)
    days, rem = divmod(secs, 86400)
    y, m, d = civil_from_days(days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    text = f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}"
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"
