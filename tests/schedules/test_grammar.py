"""The schedule grammar, rule by rule (docs/dapr-behaviour.md#schedule-grammar)."""

from __future__ import annotations

import pytest

from jobslab.schedules import (
    CronSchedule,
    EverySchedule,
    ScheduleError,
    next_after,
    parse,
    validate,
)
from jobslab.schedules._cron import parse_schedule
from support.schedules import next_fires, utc


def error_of(schedule: str) -> str:
    with pytest.raises(ScheduleError) as info:
        parse(schedule)
    return str(info.value)


# --- fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("*/5 * * * *", "expected exactly 6 fields, found 5: [*/5 * * * *]"),
        ("0 * * * *", "expected exactly 6 fields, found 5: [0 * * * *]"),
        ("0 0 0 * * * *", "expected exactly 6 fields, found 7: [0 0 0 * * * *]"),
        ("test", "expected exactly 6 fields, found 1: [test]"),
        ("2h45m", "expected exactly 6 fields, found 1: [2h45m]"),
        ("   ", "expected exactly 6 fields, found 0: []"),
        ("", "empty spec string"),
    ],
)
def test_parser_exactly_six_fields(schedule: str, message: str) -> None:
    """Exactly 6 fields; 5-field cron and bare durations are rejected."""
    assert error_of(schedule) == message


def test_parser_seconds_come_first() -> None:
    """Field 1 is seconds, so `30 * * * * *` fires at :30 every minute."""
    assert next_fires("30 * * * * *", "2026-01-01T00:00:00Z", 3) == [
        "2026-01-01T00:00:30Z",
        "2026-01-01T00:01:30Z",
        "2026-01-01T00:02:30Z",
    ]
    assert next_fires("0 30 * * * *", "2026-01-01T00:00:00Z", 2) == [
        "2026-01-01T00:30:00Z",
        "2026-01-01T01:30:00Z",
    ]


def test_binding_parser_accepts_five_fields_minute_first() -> None:
    """The cron binding's parser (SecondOptional) takes 5 fields, minute first."""
    sched = parse_schedule("*/20 * * * *", seconds_optional=True)
    assert isinstance(sched, CronSchedule)
    assert sched.values(0) == (0,)
    assert sched.values(1) == (0, 20, 40)
    with pytest.raises(ScheduleError, match=r"expected 5 to 6 fields, found 4"):
        parse_schedule("* * * *", seconds_optional=True)


def test_parser_whitespace_is_go_whitespace() -> None:
    """Fields split on any Unicode space (Go strings.Fields)."""
    assert parse("\t0 0  0\n* * *").values(2) == (0,)
    assert parse("0\u00a00 0 * * *").values(2) == (0,)


# --- ranges, lists, steps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "index", "values"),
    [
        ("9-11", 2, (9, 10, 11)),
        ("0,30", 1, (0, 30)),
        ("5,1,3", 0, (1, 3, 5)),
        ("*/15", 0, (0, 15, 30, 45)),
        ("10-40/10", 1, (10, 20, 30, 40)),
        ("*/7", 4, (1, 8)),
        ("1-5/2", 5, (1, 3, 5)),
        ("28-28", 3, (28,)),
        ("1-3,10-12", 2, (1, 2, 3, 10, 11, 12)),
        ("*/31", 3, (1,)),
        ("0/100", 0, (0,)),
    ],
)
def test_parser_ranges_lists_steps(field: str, index: int, values: tuple) -> None:
    """`*`, lists `a,b`, ranges `a-b`, steps `*/n` and `a-b/n`."""
    fields = ["0", "0", "0", "*", "*", "*"]
    fields[index] = field
    assert parse(" ".join(fields)).values(index) == values


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("59/15 * * * * *", "59-59/15 * * * * *"),
        ("5/20 * * * * *", "5-59/20 * * * * *"),
        ("0 0 3/6 * * *", "0 0 3-23/6 * * *"),
        ("0 0 0 11/19 * *", "0 0 0 11-31/19 * *"),
        ("0 0 0 * 5/3 *", "0 0 0 * 5-12/3 *"),
        ("0 0 0 * * 2/2", "0 0 0 * * 2-6/2"),
    ],
)
def test_parser_n_slash_step_means_n_to_max(short: str, long: str) -> None:
    """`n/step` means `n-max/step` (so `59/15` is just :59)."""
    a, b = parse(short), parse(long)
    assert [a.values(i) for i in range(6)] == [b.values(i) for i in range(6)]
    assert parse("59/15 * * * * *").values(0) == (59,)


def test_parser_one_value_range_is_one_value() -> None:
    """Where croniter differs: `0 28-28 17 * * *` is 17:28:00 daily, not all of hour 17."""
    assert next_fires("0 28-28 17 * * *", "2026-01-01T00:00:00Z", 2) == [
        "2026-01-01T17:28:00Z",
        "2026-01-02T17:28:00Z",
    ]
    assert next_fires("0 0 0 28-28 * *", "2026-01-01T00:00:00Z", 2) == [
        "2026-01-28T00:00:00Z",
        "2026-02-28T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("60 * * * * *", "end of range (60) above maximum (59): 60"),
        ("0 60 * * * *", "end of range (60) above maximum (59): 60"),
        ("0 0 24 * * *", "end of range (24) above maximum (23): 24"),
        ("0 0 0 32 * *", "end of range (32) above maximum (31): 32"),
        ("0 0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("0 0 0 * 0 *", "beginning of range (0) below minimum (1): 0"),
        ("0 0 0 * 13 *", "end of range (13) above maximum (12): 13"),
        ("0 0 0 * 1-13 *", "end of range (13) above maximum (12): 1-13"),
        ("5-3 * * * * *", "beginning of range (5) beyond end of range (3): 5-3"),
        ("0 0 0 * feb-jan *", "beginning of range (2) beyond end of range (1): feb-jan"),
        ("0 0 0 * * tue-mon", "beginning of range (2) beyond end of range (1): tue-mon"),
        ("1-2-3 * * * * *", "too many hyphens: 1-2-3"),
        ("1/2/3 * * * * *", "too many slashes: 1/2/3"),
        ("*/0 * * * * *", "step of range should be a positive number: */0"),
        ("0/0 * * * * *", "step of range should be a positive number: 0/0"),
        ("0/-1 * * * * *", "negative number (-1) not allowed: -1"),
        ("-1 * * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'),
        ("0 0 a * * *", 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'),
        ("0 0 0 jan * *",
         'failed to parse int from jan: strconv.Atoi: parsing "jan": invalid syntax'),
        ("*/x * * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("99999999999999999999 * * * * *",
         "failed to parse int from 99999999999999999999: strconv.Atoi: parsing "
         '"99999999999999999999": value out of range'),
    ],
)
def test_parser_range_errors_use_dapr_wording(schedule: str, message: str) -> None:
    """Out-of-range, reversed ranges (no wrap-around), bad
    numbers, all worded as dapr/kit words them."""
    assert error_of(schedule) == message


def test_parser_empty_list_items_are_skipped() -> None:
    """Go's FieldsFunc drops empty list items (`1,,2` is `1,2`)."""
    assert parse("1,,2 * * * * *").values(0) == (1, 2)


# --- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("named", "numeric"),
    [
        ("0 0 0 * jan-MAR *", "0 0 0 * 1-3 *"),
        ("0 0 0 * Dec *", "0 0 0 * 12 *"),
        ("0 0 0 * * MON-FRI", "0 0 0 * * 1-5"),
        ("0 0 0 * * mon-fri", "0 0 0 * * 1-5"),
        ("0 0 0 * * Sun,sat", "0 0 0 * * 0,6"),
        ("0 0 0 * * sun-sat", "0 0 0 * * 0-6"),
        ("0 0 0 * * TUE/2", "0 0 0 * * 2-6/2"),
    ],
)
def test_parser_names_case_insensitive(named: str, numeric: str) -> None:
    """`jan`-`dec` and `sun`-`sat` work in any case, in ranges too."""
    a, b = parse(named), parse(numeric)
    assert [a.values(i) for i in range(6)] == [b.values(i) for i in range(6)]


# --- ? ------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(6))
def test_parser_question_mark_is_star_in_every_field(index: int) -> None:
    """Where croniter differs: `?` means `*` in every field, not only DOM/DOW."""
    base = ["0", "0", "0", "*", "*", "1"]
    with_q, with_star = list(base), list(base)
    with_q[index], with_star[index] = "?", "*"
    q, star = " ".join(with_q), " ".join(with_star)
    assert parse(q).values(index) == parse(star).values(index)
    assert next_fires(q, "2026-01-01T00:00:00Z", 4) == next_fires(star, "2026-01-01T00:00:00Z", 4)


def test_parser_question_mark_keeps_the_star_rule() -> None:
    """`?` in DOM counts as `*`, so `0 0 0 ? * 1` is Mondays only."""
    assert next_fires("0 0 0 ? * 1", "2026-01-01T00:00:00Z", 2) == [
        "2026-01-05T00:00:00Z",
        "2026-01-12T00:00:00Z",
    ]


# --- L, W, #, 7 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("30 45 23 L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'),
        ("0 0 0 15W * *",
         'failed to parse int from 15W: strconv.Atoi: parsing "15W": invalid syntax'),
        ("0 0 0 LW * *", 'failed to parse int from LW: strconv.Atoi: parsing "LW": invalid syntax'),
        ("0 0 0 * * MON#2",
         'failed to parse int from MON#2: strconv.Atoi: parsing "MON#2": invalid syntax'),
        ("0 0 0 * * 5L", 'failed to parse int from 5L: strconv.Atoi: parsing "5L": invalid syntax'),
        ("0 0 0 * * 7", "end of range (7) above maximum (6): 7"),
        ("0 0 0 * * 1-7", "end of range (7) above maximum (6): 1-7"),
        ("H 0 0 * * *", 'failed to parse int from H: strconv.Atoi: parsing "H": invalid syntax'),
    ],
)
def test_parser_quartz_extensions_rejected(schedule: str, message: str) -> None:
    """`L`, `W`, `#` and weekday 7 are rejected with dapr/kit's messages."""
    assert error_of(schedule) == message


# --- descriptors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("descriptor", "fields"),
    [
        ("@yearly", "0 0 0 1 1 *"),
        ("@annually", "0 0 0 1 1 *"),
        ("@monthly", "0 0 0 1 * *"),
        ("@weekly", "0 0 0 * * 0"),
        ("@daily", "0 0 0 * * *"),
        ("@midnight", "0 0 0 * * *"),
        ("@hourly", "0 0 * * * *"),
    ],
)
def test_descriptors_equal_their_six_field_form(descriptor: str, fields: str) -> None:
    """Each descriptor fires exactly like its 6-field equivalent."""
    sched = parse(descriptor)
    assert isinstance(sched, CronSchedule)
    assert sched.fields == tuple(fields.split())
    for start in ("2026-01-01T00:00:00Z", "2027-06-15T13:14:15Z"):
        assert next_fires(descriptor, start, 4) == next_fires(fields, start, 4)


def test_weekly_is_sunday_midnight() -> None:
    """`@weekly` is Sunday 00:00 (2026-01-04 is a Sunday)."""
    assert next_after("@weekly", utc(2026, 1, 1)) == utc(2026, 1, 4)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("@DAILY", "unrecognized descriptor: @DAILY"),
        ("@Hourly", "unrecognized descriptor: @Hourly"),
        ("@daily ", "unrecognized descriptor: @daily "),
        ("@foo", "unrecognized descriptor: @foo"),
        ("@every", "unrecognized descriptor: @every"),
        ("@reboot", "unrecognized descriptor: @reboot"),
    ],
)
def test_descriptors_are_exact_lowercase_words(schedule: str, message: str) -> None:
    """Where croniter differs: `@DAILY` is rejected ("unrecognized
    descriptor"), and so is anything but the exact lower-case words."""
    assert error_of(schedule) == message


# --- @every ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "delay_ns"),
    [
        ("@every 1m", 60_000_000_000),
        ("@every 2h45m", (2 * 3600 + 45 * 60) * 1_000_000_000),
        ("@every 1.5s", 1_500_000_000),
        ("@every 500ms", 500_000_000),
        ("@every 1ms", 1_000_000),
        ("@every 1us", 1_000),
        ("@every 10ns", 10),
        ("@every 0s", 0),
        ("@every 0", 0),
    ],
)
def test_every_takes_go_durations_sub_second(schedule: str, delay_ns: int) -> None:
    """`@every <Go duration>`, sub-second precision and `0s` accepted
    (KIT v0.16.0+)."""
    sched = parse(schedule)
    assert isinstance(sched, EverySchedule)
    assert sched.delay_ns == delay_ns
    assert sched.next_ns(1_000) == 1_000 + delay_ns


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("@every 1x",
         'failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"'),
        ("@every 10", 'failed to parse duration @every 10: time: missing unit in duration "10"'),
        ("@every ", 'failed to parse duration @every : time: invalid duration ""'),
        ("@every 1d",
         'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'),
        ("@every PT1M", 'failed to parse duration @every PT1M: time: invalid duration "PT1M"'),
    ],
)
def test_every_bad_duration_wording(schedule: str, message: str) -> None:
    """`@every 1x` → "failed to parse duration @every 1x: …"."""
    assert error_of(schedule) == message


# --- time zone prefixes ---------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["TZ=", "CRON_TZ="])
def test_tz_prefix_honoured(prefix: str) -> None:
    """`TZ=`/`CRON_TZ=` evaluate in that zone (09:00 Berlin = 08:00Z
    in winter)."""
    sched = parse(f"{prefix}Europe/Berlin 0 0 9 * * *")
    assert sched.zone_name == "Europe/Berlin"
    assert next_after(f"{prefix}Europe/Berlin 0 0 9 * * *", utc(2026, 1, 1)) == utc(2026, 1, 1, 8)
    assert next_after(f"{prefix}Europe/Berlin @daily", utc(2026, 7, 1, 12)) == utc(2026, 7, 1, 22)


def test_no_zone_prefix_means_utc() -> None:
    """Without a prefix the Scheduler evaluates in UTC."""
    assert parse("0 0 9 * * *").zone is None
    assert next_after("0 0 9 * * *", utc(2026, 7, 1)) == utc(2026, 7, 1, 9)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("CRON_TZ=Not/AZone 0 0 0 * * *",
         "provided bad location Not/AZone: unknown time zone Not/AZone"),
        ("TZ=Mars/Olympus @daily", "provided bad location Mars/Olympus: unknown time zone "
         "Mars/Olympus"),
        ("TZ=../etc/passwd 0 0 0 * * *",
         "provided bad location ../etc/passwd: time: invalid location name"),
        ("TZ=/etc/localtime 0 0 0 * * *",
         "provided bad location /etc/localtime: time: invalid location name"),
        ("TZ=Europe/Berlin", "timezone prefix TZ=Europe/Berlin is not followed by a schedule"),
        ("TZ=UTC", "timezone prefix TZ=UTC is not followed by a schedule"),
        ("CRON_TZ=Europe/Berlin ", "expected exactly 6 fields, found 0: []"),
    ],
)
def test_tz_prefix_errors(schedule: str, message: str) -> None:
    """Unknown zone rejected; a prefix with nothing after it (1.18.3) is
    rejected instead of crashing."""
    assert error_of(schedule) == message


@pytest.mark.parametrize(("schedule", "message"), [
    ("TZ=Europe/Berlin @every 1s",
     "timezone is not supported for @every schedules: TZ=Europe/Berlin @every 1s"),
    ("CRON_TZ=UTC @every 1h",
     "timezone is not supported for @every schedules: CRON_TZ=UTC @every 1h"),
    ("TZ=UTC @every 1x", "timezone is not supported for @every schedules: TZ=UTC @every 1x"),
    ("TZ=UTC @everyday", "unrecognized descriptor: @everyday"),
])
def test_tz_prefix_on_every_rejected(schedule: str, message: str) -> None:
    """Since 1.18.3: a TZ prefix on `@every` is rejected, in the 1.18.3 binaries' words,
    before the duration is read; `@everyday` is no `@every` (observed on 1.18.3)."""
    assert error_of(schedule) == message


def test_tz_prefix_utc_and_empty_mean_utc() -> None:
    """`TZ=UTC` (and Go's empty name) is UTC."""
    assert next_fires("TZ=UTC 0 0 1 * * *", "2026-03-08T00:00:00Z", 1) == ["2026-03-08T01:00:00Z"]
    assert next_fires("TZ= 0 0 1 * * *", "2026-03-08T00:00:00Z", 1) == ["2026-03-08T01:00:00Z"]


# --- day-of-month vs day-of-week ------------------------------------------------------

JAN_2026 = "2025-12-31T12:00:00Z"  # 2026-01-01 is a Thursday


def days(schedule: str, n: int = 8) -> list[str]:
    return [t[:10] for t in next_fires(schedule, JAN_2026, n)]


def test_dom_dow_both_restricted_is_or() -> None:
    """DOM and DOW both restricted → either may match (1st OR Mondays)."""
    assert days("0 0 0 1 * 1", 4) == ["2026-01-01", "2026-01-05", "2026-01-12", "2026-01-19"]


def test_dom_dow_star_means_only_the_other_matters() -> None:
    """One field `*` → both must match, so only the restricted one matters."""
    assert days("0 0 0 1 * *", 3) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert days("0 0 0 * * 1", 3) == ["2026-01-05", "2026-01-12", "2026-01-19"]


def test_star_slash_one_keeps_the_star() -> None:
    """Where croniter differs: `0 0 0 14,26 * */1` is the 14th and 26th only (`*/1` keeps
    the star bit, so DOM AND DOW)."""
    assert days("0 0 0 14,26 * */1", 4) == ["2026-01-14", "2026-01-26", "2026-02-14", "2026-02-26"]
    assert days("0 0 0 */1 * 1", 2) == ["2026-01-05", "2026-01-12"]


def test_star_slash_two_restricts() -> None:
    """`*/2` drops the star bit, so `0 0 0 14,26 * */2` is the 14th, 26th OR any
    Sun/Tue/Thu/Sat."""
    # Jan 2026: Thu 1, Sat 3, Sun 4, Tue 6, Thu 8, Sat 10, Sun 11, Tue 13, Wed 14
    assert days("0 0 0 14,26 * */2", 9) == [
        "2026-01-01", "2026-01-03", "2026-01-04", "2026-01-06", "2026-01-08",
        "2026-01-10", "2026-01-11", "2026-01-13", "2026-01-14",
    ]
    # DOM */2 (odd days) OR Mondays.
    assert days("0 0 0 */2 * 1", 5) == [
        "2026-01-01", "2026-01-03", "2026-01-05", "2026-01-07", "2026-01-09",
    ]


def test_star_in_a_list_keeps_the_star() -> None:
    """`*,5` still contains `*`, so DOM AND DOW: only the 14th/26th fire."""
    assert days("0 0 0 14,26 * *,5", 2) == ["2026-01-14", "2026-01-26"]
    assert days("0 0 0 14,26 * 5,*", 2) == ["2026-01-14", "2026-01-26"]


def test_empty_day_field_with_restricted_other_is_or() -> None:
    """A DOM of only commas has no values and no star: the OR rule makes the
    DOW decide (Mondays)."""
    assert days("0 0 0 , * 1", 2) == ["2026-01-05", "2026-01-12"]


# --- croniter's differing cases (docs/dapr-behaviour.md#where-croniter-differs) -------


@pytest.mark.parametrize(
    "schedule",
    ["? 0 0 * * *", "0 0 0 * ? *", "0 ? 0 * * *", "0 0 ? * * *", "@every 1m"],
)
def test_where_croniter_differs_dapr_accepts(schedule: str) -> None:
    """Where croniter differs: these are valid for Dapr though croniter rejects them."""
    assert validate(schedule) is None


@pytest.mark.parametrize(
    "schedule",
    [
        "0 0 0 * * 7", "30 45 23 L * *", "0 0 0 15W * *", "0 0 0 * * MON#2",
        "5-3 * * * * *", "0 0 0 * feb-jan *", "0 0 0 * * tue-mon",
        "0 * * * *", "0 0 0 * * * *", "@DAILY",
    ],
)
def test_where_croniter_differs_dapr_rejects(schedule: str) -> None:
    """Where croniter differs: these are rejected by Dapr though croniter accepts them."""
    assert validate(schedule) is not None


def test_where_croniter_differs_berlin_spring_forward_skips_the_day() -> None:
    """Where croniter differs: Berlin 02:30 does not exist on 2026-03-29: no fire that day
    (croniter would fire at 03:00 local)."""
    assert next_fires("CRON_TZ=Europe/Berlin 0 30 2 * * *", "2026-03-27T12:00:00Z", 3) == [
        "2026-03-28T01:30:00Z",  # 02:30 CET
        "2026-03-30T00:30:00Z",  # 02:30 CEST; nothing on the 29th
        "2026-03-31T00:30:00Z",
    ]
