"""Go durations, RFC 3339 and ISO 8601 for `dueTime`/`ttl`
(docs/dapr-behaviour.md#time-formats)."""

from __future__ import annotations

import pytest

from jobslab.schedules import (
    GoTimeError,
    ScheduleError,
    format_go_duration,
    format_rfc3339,
    parse_go_duration,
    parse_iso8601_duration,
    parse_point_in_time,
    parse_rfc3339,
)

S = 1_000_000_000
NOON = parse_rfc3339("2026-01-31T12:00:00Z")

# --- Go time.ParseDuration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1h30m", 5400 * S),
        ("1.5h", 5400 * S),
        ("500ms", S // 2),
        ("1.5s", 3 * S // 2),
        (".5s", S // 2),
        ("1.s", S),
        ("-10s", -10 * S),
        ("+10s", 10 * S),
        ("1us", 1_000),
        ("1µs", 1_000),  # micro sign U+00B5
        ("1μs", 1_000),  # Greek mu U+03BC
        ("7ns", 7),
        ("0", 0),
        ("-0", 0),
        ("0s", 0),
        ("1h1m1s1ms1us1ns", 3661 * S + 1_001_001),
        ("2m3.25s", 123 * S + S // 4),
        ("9223372036854775807ns", (1 << 63) - 1),
        ("-9223372036854775808ns", -(1 << 63)),
    ],
)
def test_go_duration_parses(text: str, ns: int) -> None:
    """Go `time.ParseDuration` grammar, in nanoseconds."""
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("1H", 'time: unknown unit "H" in duration "1H"'),
        ("1h-1m", 'time: unknown unit "h-" in duration "1h-1m"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1h30", 'time: missing unit in duration "1h30"'),
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
        ("s", 'time: invalid duration "s"'),
        (".s", 'time: invalid duration ".s"'),
        ("1 s", 'time: unknown unit " s" in duration "1 s"'),
        (" 1s", 'time: invalid duration " 1s"'),
        ("PT1M", 'time: invalid duration "PT1M"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("2562048h", 'time: invalid duration "2562048h"'),
        ("99999999999999999999s", 'time: invalid duration "99999999999999999999s"'),
    ],
)
def test_go_duration_errors_in_go_words(text: str, message: str) -> None:
    """Go's own wording, e.g. `time: unknown unit "x" in duration
    "1x"`."""
    with pytest.raises(GoTimeError) as info:
        parse_go_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (5400 * S, "1h30m0s"),
        (3 * S // 2, "1.5s"),
        (S // 2, "500ms"),
        (1_000, "1µs"),
        (1_500, "1.5µs"),
        (7, "7ns"),
        (-10 * S, "-10s"),
        (3600 * S, "1h0m0s"),
        ((1 << 63) - 1, "2562047h47m16.854775807s"),
        (-(1 << 63), "-2562047h47m16.854775808s"),
    ],
)
def test_go_duration_formats_like_go(ns: int, text: str) -> None:
    """`Duration.String()` forms."""
    assert format_go_duration(ns) == text


# --- RFC 3339 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-12-09T16:09:53Z", "2025-12-09T16:09:53Z"),
        ("2026-01-01T09:00:00+02:00", "2026-01-01T07:00:00Z"),
        ("2026-01-01T09:00:00-05:30", "2026-01-01T14:30:00Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z"),
        ("2026-01-01T09:00:00.25Z", "2026-01-01T09:00:00.25Z"),
        ("2026-01-01T09:00:00.123456789Z", "2026-01-01T09:00:00.123456789Z"),
        ("2026-01-01T09:00:00.1234567891Z", "2026-01-01T09:00:00.123456789Z"),
        ("2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
    ],
)
def test_rfc3339_keeps_offsets_and_fractions(text: str, utc: str) -> None:
    """RFC 3339 carries its own offset; fractions are kept to ns."""
    assert format_rfc3339(parse_rfc3339(text)) == utc


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01 09:00:00Z",
        "2026-01-01T09:00:00",
        "2026-01-01",
        "2026-1-1T09:00:00Z",
        "2026-01-01T9:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "2026-01-01T09:00:00+0200",
        "2026-01-01T09:00:00+24:00",
        "2026-01-01T09:00:00.Z",
        "2026-01-01T09:00:00Z ",
    ],
)
def test_rfc3339_bad_forms_rejected(text: str) -> None:
    """Only `time.RFC3339` shapes parse as instants."""
    with pytest.raises(GoTimeError):
        parse_rfc3339(text)


# --- ISO 8601 durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("PT10S", "2026-01-31T12:00:10Z"),
        ("PT1H30M", "2026-01-31T13:30:00Z"),
        ("P1D", "2026-02-01T12:00:00Z"),
        ("P1W", "2026-02-07T12:00:00Z"),
        ("P1DT1H", "2026-02-01T13:00:00Z"),
        ("P1Y", "2027-01-31T12:00:00Z"),
        # Go's AddDate normalises Feb 31 to Mar 3.
        ("P1M", "2026-03-03T12:00:00Z"),
    ],
)
def test_iso8601_durations_count_from_creation(text: str, utc: str) -> None:
    """ISO 8601 durations (dapr/kit), counted from `now`."""
    assert format_rfc3339(parse_point_in_time(text, NOON)) == utc


@pytest.mark.parametrize("text", ["PT0.5S", "p1d", "P", "pt10s", "P1H", "PT1D", "1d", "", "T1H"])
def test_iso8601_bad_forms_rejected(text: str) -> None:
    """`PT0.5S` (fraction), `p1d` (lower case) and friends are not recognized."""
    with pytest.raises(ScheduleError) as info:
        parse_point_in_time(text, NOON)
    assert str(info.value) == "due time format not recognized"
    assert info.value.field == "dueTime"


def test_iso8601_repeating_interval_rejected() -> None:
    """A repeating `R5/PT1H` is "repeats not supported for due time"."""
    with pytest.raises(ScheduleError, match=r"^repeats not supported for due time$"):
        parse_point_in_time("R5/PT1H", NOON)
    assert parse_iso8601_duration("R5/PT1H").repetition == 5


# --- format order --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),  # RFC 3339 first
        ("10s", "2026-01-31T12:00:10Z"),  # then Go duration
        ("-10s", "2026-01-31T11:59:50Z"),  # negative allowed
        ("0", "2026-01-31T12:00:00Z"),
        ("PT10S", "2026-01-31T12:00:10Z"),  # then ISO 8601
    ],
)
def test_point_in_time_tries_rfc3339_then_go_then_iso8601(text: str, utc: str) -> None:
    """RFC 3339, then Go duration, then ISO 8601; relative to creation."""
    assert format_rfc3339(parse_point_in_time(text, NOON)) == utc
