"""Schedules in plain English, true to how Dapr's Scheduler reads them.

The wording comes from cron-descriptor (which reads 6 fields seconds-first, like Dapr), after
the expression is rewritten into a form it reads the way Dapr does: descriptors become their
fields, ``?`` becomes ``*`` (cron-descriptor would otherwise take a 6-field expression with
``?`` as minutes-first with a year), and weekday/month steps become explicit lists (it says
"every 2 weeks" for ``5/2``, where Dapr means Friday only). Where Dapr's rules differ from what
the words suggest (the day-of-month OR weekday rule, day steps restarting each month), a note
says so. ``@every`` is described here, not by cron-descriptor, which does not know it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cron_descriptor import ExpressionDescriptor, Options

from ._cron import FIELD_BOUNDS, STAR_BIT, CronSchedule, EverySchedule, parse_schedule
from ._gotime import HOUR, MINUTE, MS, SECOND, US, datetime_to_ns, format_go_duration
from ._jobspec import JobLike, job_spec

__all__ = ["describe", "human_duration"]

DAY = 24 * HOUR
_FIELD_ATTRS = ("second", "minute", "hour", "dom", "month", "dow")


def describe(schedule: JobLike) -> str:
    """One English sentence (plus notes where Dapr's rules surprise people) for a schedule.

    Always says which zone the schedule runs in: ``in UTC`` (Dapr's Scheduler evaluates
    schedules without a prefix in UTC, docs/dapr-behaviour.md#time-zone) or
    ``in Europe/Berlin time`` for a ``CRON_TZ=``/``TZ=`` prefix. Accepts a schedule string or
    a job dict. Raises :class:`ScheduleError` with Dapr's message when Dapr would reject the
    schedule.

    >>> describe("0 30 9 * * MON-FRI")
    'At 09:30, Monday through Friday, in UTC.'
    >>> describe("@every 2h45m")
    'Every 2 hours and 45 minutes, counted from creation (or dueTime), not aligned to the clock.'
    """
    spec = job_spec(schedule)
    if spec.schedule is None:
        if spec.due_time is not None:
            return f"Once, at its dueTime ({spec.due_time}); with no schedule it never repeats."
        raise ValueError("nothing to describe: give a schedule or a job with a schedule/dueTime")
    parsed = parse_schedule(spec.schedule)
    text = _describe_every(parsed) if isinstance(parsed, EverySchedule) else _describe_cron(parsed)
    return " ".join([text, *_job_notes(spec.due_time, spec.ttl, spec.repeats,
                                       loops=parsed.never_matches)])


def _job_notes(due_time: object, ttl: object, repeats: object, *, loops: bool = False) -> list[str]:
    notes = []
    if due_time is not None:
        notes.append(f"The first fire is at its dueTime ({due_time}), whatever the schedule says.")
    if repeats is not None:
        notes.append(f"It stops after {repeats} fire" + ("." if repeats == 1 else "s."))
    if ttl is not None and loops:
        notes.append(f"Its ttl ({ttl}) does not stop it: Dapr ends a job when the next fire "
                     "time is after the ttl, and year 1 is after nothing.")
    elif ttl is not None:
        start = "dueTime" if due_time is not None else "creation"
        notes.append(f"It expires at its ttl ({ttl}; a relative ttl counts from {start}).")
    return notes


def _describe_every(s: EverySchedule) -> str:
    if s.delay_ns <= 0:
        what = (
            "no delay"
            if s.delay_ns == 0
            else f"a negative delay ({format_go_duration(s.delay_ns)})"
        )
        return (
            f"Back to back: {s.text} has {what}, so each next fire time is already due and the "
            "job fires again as soon as each trigger finishes (a tight loop)."
        )
    text = (
        f"Every {human_duration(s.delay_ns)}, counted from creation (or dueTime), "
        "not aligned to the clock."
    )
    if s.delay_ns < SECOND:
        text += " Note: that is faster than once a second; Dapr fires it in a tight loop."
    return text


def _describe_cron(s: CronSchedule) -> str:
    fields = [_normalise_field(s, i) for i in range(6)]
    options = Options()
    options.use_24hour_time_format = True
    words = ExpressionDescriptor(" ".join(fields), options).get_description()
    zone = "in UTC" if s.zone is None else f"in {s.zone_name} time"
    text = f"{words}, {zone}."
    if s.descriptor is not None:
        text = f"{words}, {zone} ({s.descriptor} means {' '.join(s.fields)})."
    return " ".join([text, *_notes(s)])


def _normalise_field(s: CronSchedule, index: int) -> str:
    """A field rewritten so cron-descriptor reads it the way Dapr's parser does."""
    bits = getattr(s, _FIELD_ATTRS[index])
    if bits & STAR_BIT:
        return "*"
    raw = s.fields[index]
    if index >= 4 and "/" in raw:  # month or weekday steps: list the values Dapr picks
        return _compress(s.values(index))
    bounds = FIELD_BOUNDS[index]
    parts = []
    for part in (p for p in raw.split(",") if p):
        range_text, _, step = part.partition("/")
        ends = [_number(e, bounds.names) for e in range_text.split("-")]
        step_num = int(step) if step else 1
        if len(ends) == 1 and ends[0] != "*" and step:
            ends.append(str(bounds.hi))  # Dapr: "n/step" means "n-max/step"
        if len(ends) == 2 and ends[0] != "*":
            picked = range(int(ends[0]), int(ends[1]) + 1, step_num)
            if len(picked) == 1:  # "5-5/2" or "50-55/10": one value, no step to speak of
                ends, step_num = [str(picked[0])], 1
        text = "-".join(ends)
        parts.append(text if step_num == 1 else f"{text}/{step_num}")
    return ",".join(parts)


def _number(token: str, names: dict[str, int] | None) -> str:
    if token in ("*", "?"):
        return "*"
    if names is not None and token.lower() in names:
        return str(names[token.lower()])
    return str(int(token))


def _compress(values: tuple[int, ...]) -> str:
    """``0,1,2,3,5`` -> ``0-3,5`` (runs of three or more become ranges)."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j - i >= 2:
            out.append(f"{values[i]}-{values[j]}")
            i = j + 1
        else:
            out.append(str(values[i]))
            i += 1
    return ",".join(out)


def _notes(s: CronSchedule) -> list[str]:
    notes = []
    dom_restricted = not s.dom & STAR_BIT
    dow_restricted = not s.dow & STAR_BIT
    if dom_restricted and dow_restricted:
        notes.append(
            "Note: Dapr fires when EITHER the day of the month OR the weekday matches "
            "(cron's OR rule), not only when both do."
        )
    if dom_restricted and "/" in s.fields[3]:
        days = s.values(3)
        shown = ", ".join(str(d) for d in days[:4]) + (f", …, {days[-1]}" if len(days) > 4 else "")
        notes.append(
            f"Note: day-of-month steps restart each month: days {shown}, then the 1st again."
        )
    if s.next_ns(datetime_to_ns(datetime.now(UTC))) is None:
        notes.append(
            "Note: no date ever matches, yet Dapr does not take that as never: it fires the "
            "job continuously, back to back (hundreds of times a second), from creation (or "
            "its dueTime) until it is deleted or its repeats run out. A Dapr quirk: its cron "
            "library answers \"no next time\" with Go's zero time (year 1), which the "
            "Scheduler treats as a fire time that is always due."
        )
    return notes


def human_duration(ns: int) -> str:
    """A duration in nanoseconds, in words (days, hours, minutes, then one sub-minute unit).

    >>> human_duration(9_900 * 10**9)  # 2h45m
    '2 hours and 45 minutes'

    >>> human_duration(1_500_000_000)
    '1.5 seconds'
    """
    if ns == 0:
        return "0 seconds"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    parts: list[str] = []
    for unit, name in ((DAY, "day"), (HOUR, "hour"), (MINUTE, "minute")):
        count, ns = divmod(ns, unit)
        if count:
            parts.append(_plural(count, name))
    if ns:
        for unit, name in ((SECOND, "second"), (MS, "millisecond"), (US, "microsecond")):
            if ns >= unit:
                parts.append(_plural_decimal(ns, unit, name))
                break
        else:
            parts.append(_plural(ns, "nanosecond"))
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return sign + text


def _plural(count: int, name: str) -> str:
    return f"{count} {name}" + ("" if count == 1 else "s")


def _plural_decimal(ns: int, unit: int, name: str) -> str:
    whole, frac = divmod(ns, unit)
    if frac == 0:
        return _plural(whole, name)
    digits = len(str(unit)) - 1
    return f"{whole}.{f'{frac:0{digits}d}'.rstrip('0')} {name}s"
