"""Property tests: no input crashes the parser, and fire times agree with cronsim wherever
Dapr's grammar and cronsim's mean the same thing (docs/dapr-behaviour.md#schedule-grammar,
docs/dapr-behaviour.md#time-formats)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jobslab.schedules import (
    GoTimeError,
    JobTiming,
    ScheduleError,
    _cron,
    datetime_to_ns,
    format_go_duration,
    ns_to_datetime,
    parse,
    parse_go_duration,
)
from jobslab.schedules._cron import FIELD_BOUNDS, parse_schedule

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- never a traceback ----------------------------------------------------------------

TOKENS = st.sampled_from(
    ["*", "?", "0", "1", "5", "7", "12", "23", "31", "59", "60", "-", "/", ",", "L", "W", "#",
     "mon", "FRI", "jan", "Dec", "-1", "+3", "99999999999999999999", "x", "", " ", "\t"]
)
FIELD = st.lists(TOKENS, min_size=1, max_size=5).map("".join)
NEAR_CRON = st.builds(
    lambda prefix, fields: prefix + " ".join(fields),
    st.sampled_from(["", "TZ=", "CRON_TZ=", "TZ=Europe/Berlin ", "CRON_TZ=Nope/Zone ", "TZ=..",
                     "TZ=UTC", "TZ=\x00 ", "TZ=Europe/ "]),
    st.lists(FIELD, min_size=0, max_size=8),
)
DESCRIPTORISH = st.builds(
    lambda a, b: a + b,
    st.sampled_from(["@", "@every ", "@every", "@daily", "@DAILY", "TZ=UTC @every ",
                     "CRON_TZ=Asia/Kolkata @"]),
    st.text(alphabet="0123456789.-+hmsuµμnxdPTS ", max_size=12),
)


def _parse_only_schedule_errors(text: str) -> None:
    for seconds_optional in (False, True):
        try:
            parse_schedule(text, seconds_optional=seconds_optional)
        except ScheduleError as exc:
            assert str(exc)  # a Dapr-worded message, never empty


@FAST
@given(st.one_of(st.text(max_size=40), NEAR_CRON, DESCRIPTORISH))
def test_parser_any_text_gives_dapr_error_never_traceback(text: str) -> None:
    """Every invalid form gives a ScheduleError (Dapr's wording), never an
    IndexError/KeyError/... from our code."""
    _parse_only_schedule_errors(text)


POINT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789PTRYMWDHS/.-+:Zz", max_size=16),
    st.builds(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z", st.datetimes()),
)


@FAST
@given(
    schedule=st.one_of(st.none(), NEAR_CRON, DESCRIPTORISH),
    due=st.one_of(st.none(), POINT),
    ttl=st.one_of(st.none(), POINT),
    repeats=st.one_of(st.none(), st.integers(-3, 5)),
)
def test_job_fields_give_dapr_errors_never_traceback(
    schedule: str | None, due: str | None, ttl: str | None, repeats: int | None
) -> None:
    """Any dueTime/ttl/repeats/schedule combination either builds
    or raises ScheduleError."""
    try:
        timing = JobTiming.build(
            schedule=schedule, due_time=due, ttl=ttl, repeats=repeats,
            created=datetime(2026, 1, 1, tzinfo=UTC),
        )
    except ScheduleError as exc:
        assert str(exc)
        return
    timing.fires(3)


@FAST
@given(st.text(max_size=30))
def test_go_duration_any_text_gives_go_error(text: str) -> None:
    """ParseDuration raises only GoTimeError (Go's wording)."""
    try:
        parse_go_duration(text)
    except GoTimeError as exc:
        assert str(exc).startswith("time: ")


# --- Go duration round trip -------------------------------------------------------------


@FAST
@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_go_duration_format_parse_round_trip(ns: int) -> None:
    """`ParseDuration(d.String()) == d` for every int64 duration, as in Go."""
    assert parse_go_duration(format_go_duration(ns)) == ns


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["h", "m", "s", "ms", "us", "ns"])),
        min_size=1, max_size=4,
    )
)
def test_go_duration_sums_its_parts(parts: list[tuple[int, str]]) -> None:
    """`1h30m` is 1h + 30m; units multiply exactly."""
    unit = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
    text = "".join(f"{v}{u}" for v, u in parts)
    assert parse_go_duration(text) == sum(v * unit[u] for v, u in parts)


# --- agreement with cronsim -----------------------------------------------------------
#
# Where the two mean the same thing: plain numbers, ranges, lists, `*`, `*/n`, `a/n`, and
# `a-b/n` with a < b (cronsim reads `a-a/n` as `a/n`). Names and `?` are left out (`?` is
# rejected by cronsim outside DOM/DOW). The DOM/DOW rule differs: cronsim ANDs the two when
# either field *starts with* `*` (Debian cron), Dapr when either carries the star bit (`*`,
# `*/1`, `?`, or a `*` anywhere in a list). So `*` never appears inside a list, and a DOM/DOW
# `*/n` with n > 1 (restricted for Dapr) is handed to cronsim as `lo-hi/n`. cronsim's
# weekdays run to 7, so a weekday `a/n` is handed over as `a-6/n`.


def _item(lo: int, hi: int) -> st.SearchStrategy[str]:
    value = st.integers(lo, hi)
    step = st.integers(1, hi - lo + 2)
    ranged = st.tuples(value, value).map(lambda ab: (min(ab), max(ab)))
    return st.one_of(
        value.map(str),
        ranged.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(value, step).map(lambda vs: f"{vs[0]}/{vs[1]}"),
        # cronsim reads a one-value range with a step (`5-5/2`) as `5/2`; Dapr does not.
        st.tuples(ranged, step)
        .filter(lambda rs: rs[0][0] < rs[0][1])
        .map(lambda rs: f"{rs[0][0]}-{rs[0][1]}/{rs[1]}"),
    )


def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("*"),
        st.integers(1, hi - lo + 2).map(lambda n: f"*/{n}"),
        st.lists(_item(lo, hi), min_size=1, max_size=3).map(",".join),
    )


DAPR_EXPR = st.tuples(*(_field(b.lo, b.hi) for b in FIELD_BOUNDS)).map(" ".join)


def to_cronsim(expr: str) -> str:
    """The same schedule in cronsim's dialect."""
    fields = expr.split()
    for i in (3, 5):  # DOM, DOW
        f, bounds = fields[i], FIELD_BOUNDS[i]
        if f.startswith("*/") and int(f[2:]) > 1:
            fields[i] = f"{bounds.lo}-{bounds.hi}/{f[2:]}"
    # cronsim's weekdays run 0-7 (7 = Sunday again), so its `a/n` can reach 7.
    fields[5] = ",".join(_dow_item(item) for item in fields[5].split(","))
    return " ".join(fields)


def _dow_item(item: str) -> str:
    head, slash, step = item.partition("/")
    if slash and head != "*" and "-" not in head:
        # `6/n` is Saturday alone for Dapr; cronsim reads `6-6/n` like `6/n`, i.e. 6-7.
        return "6" if int(head) == 6 else f"{head}-6/{step}"
    return item


START = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DAPR_EXPR, START)
def test_fire_times_agree_with_cronsim(expr: str, start: datetime) -> None:
    """For expressions both grammars read alike, our next 5 fire times in
    UTC equal cronsim's (an independent implementation)."""
    sched = parse(expr)
    try:
        sim = CronSim(to_cronsim(expr), start)
    except CronSimError:
        # cronsim refuses day sets no month has (e.g. only the 31st in February); Dapr's Next
        # finds no time either (Go's zero time, on which the Scheduler then fires non-stop).
        assert sched.next_ns(datetime_to_ns(start)) is None
        assert sched.never_matches
        return
    t = datetime_to_ns(start)
    for _ in range(5):
        ours = sched.next_ns(t)
        try:
            theirs = next(sim)
        except StopIteration:  # cronsim gives up after 50 years
            assert ours is None
            return
        if ours is None:
            # Dapr's Next gives up after five years (robfig's yearLimit).
            assert theirs.year > ns_to_datetime(t).year + 5
            return
        assert ns_to_datetime(ours) == theirs, (expr, start)
        t = ours


@FAST
@given(DAPR_EXPR, START)
def test_next_is_strictly_later_and_matches(expr: str, start: datetime) -> None:
    """Next(t) is after t, whole-second, and its fields are allowed values."""
    sched = parse(expr)
    nxt = sched.next_ns(datetime_to_ns(start))
    assume(nxt is not None)
    assert nxt is not None
    dt = ns_to_datetime(nxt)
    assert dt > start and dt.microsecond == 0 and dt - start <= timedelta(days=6 * 366)
    assert dt.second in sched.values(0) and dt.minute in sched.values(1)
    assert dt.hour in sched.values(2) and dt.month in sched.values(4)


# --- the engine's shortcuts equal Go's step-by-step loop --------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia",
         "Asia/Kolkata", "America/Sao_Paulo", "Africa/Casablanca", "Asia/Gaza", "UTC"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ZONES),
    DAPR_EXPR,
    st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1),
                 timezones=st.just(UTC)),
)
def test_shortcuts_equal_go_stepping_in_every_zone(
    zone: str, expr: str, start: datetime
) -> None:
    """Next with its day/month/hour jumps gives exactly what Go's
    one-unit-at-a-time loop gives, DST transitions included."""
    sched = parse(f"CRON_TZ={zone} {expr}")
    t0 = datetime_to_ns(start)

    def run() -> list[int | None]:
        out, t = [], t0
        for _ in range(4):
            t = sched.next_ns(t)
            out.append(t)
            if t is None:
                break
        return out

    fast = run()
    with patch.object(_cron, "JUMPS", False):
        slow = run()
    assert fast == slow


@FAST
@given(
    st.sampled_from(ZONES),
    st.integers(min_value=-(1 << 31), max_value=(1 << 32)),
)
def test_zone_offsets_equal_zoneinfo(zone: str, unix: int) -> None:
    """The engine's cached offset tables agree with zoneinfo."""
    tz = ZoneInfo(zone)
    expected = datetime.fromtimestamp(unix, tz).utcoffset()
    assert expected is not None
    assert _cron._clock(tz).offset(unix) == int(expected.total_seconds())
