"""The mistakes people make with Dapr job schedules, caught before Dapr answers 400 or 500.

Each rule comes from docs/dapr-behaviour.md: the request body, validation order and error
table (docs/dapr-behaviour.md#validation-order), the schedule grammar and timing
(docs/dapr-behaviour.md#schedule-grammar, docs/dapr-behaviour.md#timing), where the cron
*binding* differs (docs/dapr-behaviour.md#cron-bindings) and what tutorials get wrong
(docs/dapr-behaviour.md#common-misconceptions). A finding is an ``error`` when Dapr rejects
the job (and then carries the message the real API returns), a ``warning`` when Dapr accepts
it but it almost certainly does not do what you meant, and a ``question`` for heuristics
about what you probably meant.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from ._cron import (
    DESCRIPTORS,
    FIELD_BOUNDS,
    GO_SPACE,
    STAR_BIT,
    CronSchedule,
    EverySchedule,
    go_fields,
    go_trim_space,
    parse_schedule,
)
from ._errors import ScheduleError
from ._gotime import GO_ZERO_NS, SECOND, GoTimeError, format_go_duration, parse_go_duration
from ._instants import parse_iso8601_duration
from ._job import JobTiming
from ._jobspec import KNOWN_KEYS, JobLike, JobSpec, job_spec, start_ns

__all__ = ["Finding", "lint"]

Severity = Literal["error", "warning", "question"]

_EMPTY = "Schedule is empty"
_MALFORMED = "failed deserializing HTTP body: proto: "
_LOCAL_MIDNIGHT = {"@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *",
                   "@weekly": "0 0 0 * * 0", "@monthly": "0 0 0 1 * *",
                   "@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *"}
# protobuf-go protojson parseDuration: decimal seconds, at most 9 fraction digits, "s" suffix.
_PROTO_DURATION = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]{0,9})?|\.[0-9]{0,9})s\Z")
_MAX_PROTO_SECONDS = 315_576_000_000


@dataclass(frozen=True)
class Finding:
    """One problem :func:`lint` found: what, why, and how to fix it."""

    #: A short stable name, e.g. ``five-field-cron``.
    code: str
    #: What is wrong, in plain words.
    message: str
    #: What to write instead.
    fix: str
    #: ``error`` (Dapr rejects the job), ``warning`` (accepted, but surprising) or ``question``.
    severity: Severity = "error"
    #: The message the real Dapr 1.18.3 API answers with, for errors.
    dapr_error: str | None = None
    #: The HTTP status of that answer (400 from daprd, 500 from the Scheduler).
    status: int | None = None

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.code}: {self.message}\n  fix: {self.fix}"
        if self.dapr_error is not None:
            text += f"\n  Dapr answers {self.status}: {self.dapr_error}"
        return text


def lint(job_or_schedule: JobLike, *, now: datetime | str | None = None) -> list[Finding]:
    """Check a schedule string or a job dict (as POSTed to Dapr) for the usual mistakes.

    Returns a list of :class:`Finding` — empty for a clean job. ``now`` is the creation time
    used for checks that depend on it (a ttl that expires before the first fire); default now.
    The real API stops at its first error; lint reports every problem it can see.

    >>> [f.code for f in lint("*/5 * * * *")]
    ['five-field-cron']
    >>> lint({"schedule": "@every 30s", "failurePolicy": {"drop": {}}})
    []
    """
    spec = job_spec(job_or_schedule)
    created = start_ns(now, "now")
    findings: list[Finding] = []
    if isinstance(job_or_schedule, Mapping):
        findings += _body_findings(job_or_schedule, spec)
    if spec.schedule is None and spec.due_time is None:
        findings.append(Finding(
            "no-schedule",
            "The job has neither a schedule nor a dueTime, so Dapr does not know when to run it.",
            'Add "schedule" (e.g. "@every 1m") for a repeating job, or "dueTime" (e.g. "10s" '
            'or "2026-01-01T09:00:00Z") for a one-shot job.',
            dapr_error=_EMPTY, status=400,
        ))
        return findings
    findings += _job_rule_findings(spec)
    if isinstance(spec.schedule, str):
        findings += _schedule_findings(spec.schedule)
        findings += _nonstop_findings(spec, created)
    elif spec.schedule is not None:
        findings.append(_malformed("schedule", spec.schedule, "a string"))
    findings += _timing_findings(spec, created)
    return findings


# --- the job body: keys, types, failure policy -------------------------------------------


def _malformed(key: str, value: object, want: str, *, uint32: bool = False) -> Finding:
    shown = json.dumps(value)
    detail = f"invalid value for uint32 field {key.split('.')[-1]}: {shown}" if uint32 else "…"
    return Finding(
        "malformed-body",
        f"{key} must be {want}; {shown} is not, so daprd cannot decode the body.",
        f"Write {key} as {want}.",
        dapr_error=_MALFORMED + f"(line …): {detail}", status=400,
    )


def _body_findings(job: Mapping[str, Any], spec: JobSpec) -> list[Finding]:
    out: list[Finding] = []
    if spec.name is not None:
        out.append(Finding(
            "name-in-body",
            "The job name goes in the URL (POST /v1.0-alpha1/jobs/<name>), not in the body.",
            'Remove "name" from the body.',
            dapr_error="Set the job name in the url only", status=400,
        ))
    for key in spec.unknown:
        lowered = {k.lower(): k for k in sorted(KNOWN_KEYS, reverse=True)}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
        guess = f' Did you mean "{lowered[close[0]]}"?' if close else ""
        out.append(Finding(
            "unknown-field",
            f'Dapr silently ignores the unknown field "{key}".{guess}',
            "Use one of: " + ", ".join(sorted(KNOWN_KEYS)) + ".",
            severity="warning",
        ))
    repeats = spec.repeats
    if repeats is not None and (
        isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 0
    ):
        out.append(_malformed("repeats", repeats, "a whole number, 1 or more", uint32=True))
    policy = spec.failure_policy
    if isinstance(policy, Mapping):
        constant = policy.get("constant")
        if isinstance(constant, Mapping):
            out += _constant_policy_findings(constant)
    elif policy is not None:
        out.append(_malformed("failurePolicy", policy, '{"drop": {}} or {"constant": {...}}'))
    return out


def _constant_policy_findings(constant: Mapping[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    interval = constant.get("interval")
    if interval is not None and not _is_proto_duration(interval):
        suggestion = _as_proto_duration(interval)
        fix = (
            f'Write "interval": "{suggestion}".'
            if suggestion
            else 'Write seconds with an "s" suffix, e.g. "interval": "0.5s" or "120s".'
        )
        out.append(Finding(
            "interval-format",
            f"failurePolicy.constant.interval {json.dumps(interval)} is not a protobuf Duration: "
            'over HTTP it must be decimal seconds ending in "s" ("0.2s", "120s"). The Dapr docs '
            'claim "200ms" and "2m" work; they do not.',
            fix,
            dapr_error=_MALFORMED
            + f"(line …): invalid google.protobuf.Duration value {json.dumps(interval)}",
            status=400,
        ))
    for key in ("maxRetries", "max_retries"):
        value = constant.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            out.append(_malformed(
                f"failurePolicy.constant.{key}", value, "a whole number >= 0", uint32=True
            ))
    return out


def _is_proto_duration(value: object) -> bool:
    if not isinstance(value, str) or not _PROTO_DURATION.match(value):
        return False
    body = value.rstrip("s").lstrip("+-")
    seconds = int(body.split(".")[0] or "0")
    return seconds <= _MAX_PROTO_SECONDS


def _as_proto_duration(value: object) -> str | None:
    """``"200ms"`` -> ``"0.2s"``, ``"2m"`` -> ``"120s"``; None when it is not a Go duration."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = f"{value}s"
    if not isinstance(value, str):
        return None
    try:
        ns = parse_go_duration(value)
    except GoTimeError:
        return None
    whole, frac = divmod(abs(ns), SECOND)
    text = str(whole) + (f".{frac:09d}".rstrip("0") if frac else "")
    return ("-" if ns < 0 else "") + text + "s"


# --- job-level rules the Scheduler applies (docs/dapr-behaviour.md#validation-order) ------


def _job_rule_findings(spec: JobSpec) -> list[Finding]:
    out: list[Finding] = []
    repeats = spec.repeats if isinstance(spec.repeats, int) else None
    if spec.schedule is None and repeats is not None and repeats > 1:
        out.append(Finding(
            "repeats-without-schedule",
            f"repeats={repeats} needs a schedule to repeat on; a job with only a dueTime "
            "fires once.",
            'Add a "schedule" (e.g. "@every 1m"), or drop "repeats" for a one-shot job.',
            dapr_error=ScheduleError("job must have a schedule to repeat").http_message(),
            status=500,
        ))
    if repeats == 0:
        out.append(Finding(
            "repeats-zero",
            "repeats=0 does not mean 'forever'; Dapr refuses it.",
            'Leave "repeats" out for a job that repeats until its ttl or until deleted.',
            dapr_error=ScheduleError("defined repeats must be greater than 0").http_message(),
            status=500,
        ))
    if spec.schedule is None and spec.ttl is not None:
        out.append(Finding(
            "ttl-without-schedule",
            "A ttl only makes sense for a repeating job; this one has no schedule.",
            'Drop "ttl" (a one-shot job ends after its dueTime), or add a "schedule".',
            dapr_error=ScheduleError("job must have a schedule to have a ttl").http_message(),
            status=500,
        ))
    return out


def _timing_findings(spec: JobSpec, created: int) -> list[Finding]:
    """dueTime/ttl errors, and a ttl that ends the job before it ever fires."""
    if not all(isinstance(v, str | None) for v in (spec.due_time, spec.ttl)):
        return [_malformed("dueTime/ttl", [spec.due_time, spec.ttl], "strings")]
    schedule_ok = _schedule_ok(spec.schedule)
    # Check dueTime and ttl on their own: the other fields' errors are reported already.
    stand_in = spec.schedule if schedule_ok else "@every 1s"
    check = JobSpec(
        schedule=None if spec.schedule is None else stand_in,
        due_time=spec.due_time,
        ttl=None if spec.schedule is None else spec.ttl,
    )
    try:
        timing = check.timing(created)
    except ScheduleError as exc:
        examples = '"10s", "1h30m", "PT10S" or "2026-01-01T09:00:00Z"'
        order = " A ttl must not end before the dueTime." if "greater" in exc.message else ""
        return [Finding(
            f"bad-{exc.field.lower()}",
            f"Dapr cannot use this {exc.field}: {exc.message}.",
            f"Write {exc.field} as an RFC 3339 time, a Go duration or an ISO 8601 duration, "
            f"e.g. {examples}.{order}",
            dapr_error=exc.http_message(), status=500,
        )]
    if schedule_ok and spec.ttl is not None and timing.next_ns(0, None) is None:
        return [Finding(
            "ttl-before-first-fire",
            f"The ttl ({spec.ttl}) expires before the first fire, so Dapr accepts the job "
            "(204), never fires it, and deletes it at once.",
            "Make the ttl longer than the time to the first fire, or add a dueTime.",
            severity="warning",
        )]
    return []


def _schedule_ok(schedule: object) -> bool:
    if not isinstance(schedule, str):
        return False
    try:
        parse_schedule(schedule)
    except ScheduleError:
        return False
    return True


# --- the schedule string ------------------------------------------------------------------


def _rejected(code: str, message: str, fix: str, http: str | None) -> Finding:
    """A schedule the Scheduler refuses: an error carrying its 500 message."""
    return Finding(code, message, fix, dapr_error=http, status=500)


def _schedule_error(text: str) -> tuple[str | None, str | None]:
    """(raw message, HTTP message) Dapr gives for ``text``, or (None, None) if it parses."""
    try:
        parse_schedule(text)
    except ScheduleError as exc:
        return exc.message, exc.http_message()
    return None, None


def _schedule_findings(text: str) -> list[Finding]:
    raw, http = _schedule_error(text)
    prefix, body = _split_prefix(text)
    out = _shape_findings(text, prefix, body, http)
    if raw is not None:
        if not out:
            out.append(_rejected(
                "invalid-schedule",
                f"Dapr rejects this schedule: {raw}",
                "Use 6 fields, seconds first (`sec min hour day-of-month month day-of-week`), "
                'a descriptor such as "@daily", or "@every <Go duration>" such as "@every 90s".',
                http,
            ))
        return out
    parsed = parse_schedule(text)
    if isinstance(parsed, EverySchedule):
        return out + _every_findings(parsed)
    return out + _cron_findings(parsed)


def _split_prefix(text: str) -> tuple[str, str]:
    if text.startswith(("TZ=", "CRON_TZ=")):
        i = next((k for k, ch in enumerate(text) if ch in GO_SPACE), len(text))
        return text[:i], go_trim_space(text[i:])
    return "", text


def _with_prefix(prefix: str, body: str) -> str:
    return f"{prefix} {body}" if prefix else body


def _shape_findings(text: str, prefix: str, body: str, http: str | None) -> list[Finding]:
    """Rules that look at how the schedule is written, valid or not."""
    out: list[Finding] = []
    if prefix and body.startswith("@every "):
        out.append(_rejected(
            "tz-on-every",
            "A time-zone prefix on @every is rejected since Dapr 1.18.3 (before, it was "
            "silently ignored): @every counts from creation, so a zone has nothing to change.",
            f'Drop the prefix: "{body}".',
            http,
        ))
        return out
    if body.startswith("@"):
        low = body.lower()
        if body not in DESCRIPTORS and low in DESCRIPTORS:
            out.append(_rejected(
                "descriptor-case",
                f"Descriptors are lower case in Dapr; {body} is not recognized.",
                f'Write "{_with_prefix(prefix, low)}".',
                http,
            ))
        elif low.startswith("@every") and not body.startswith("@every "):
            dur = body[len("@every"):].strip()
            out.append(_rejected(
                "every-format",
                f"{body!r} is not read as @every: it needs exactly '@every ' then a Go duration.",
                f'Write "@every {dur or "1m"}".',
                http,
            ))
        return out
    fields = go_fields(body)
    bare = _bare_duration(body) if len(fields) == 1 else None
    if bare is not None:
        out.append(_rejected(
            "bare-duration",
            f'"{body}" is a duration, not a schedule. The Dapr docs say a bare duration works; '
            "it does not.",
            f'Write "@every {bare}".' + (" (@every takes no time-zone prefix.)" if prefix else ""),
            http,
        ))
        return out
    if len(fields) == 5:
        fixed = ["0", *fields]
        out.append(_rejected(
            "five-field-cron",
            "This is a 5-field (minute-first) cron expression. The Jobs API needs exactly 6 "
            "fields, seconds first. (Dapr's cron *binding* accepts 5 fields; the Jobs API does "
            "not.)",
            f'Add a seconds field in front: "{_with_prefix(prefix, " ".join(fixed))}".',
            http,
        ))
        fields = fixed
    elif len(fields) == 7 and re.fullmatch(r"\*|\d{4}(-\d{4})?", fields[6]):
        out.append(_rejected(
            "year-field",
            "Dapr's cron has no year field (that is Quartz); it needs exactly 6 fields.",
            f'Drop the year: "{_with_prefix(prefix, " ".join(fields[:6]))}".',
            http,
        ))
        fields = fields[:6]
    if len(fields) == 6:
        out += _field_findings(prefix, fields, http)
    return out


def _bare_duration(body: str) -> str | None:
    """The Go duration to put after @every, if ``body`` is a bare Go or ISO 8601 duration."""
    try:
        ns = parse_go_duration(body)
    except GoTimeError:
        try:
            iso = parse_iso8601_duration(body)
        except ValueError:
            return None
        if iso.years or iso.months or iso.repetition >= 0:
            return None
        ns = iso.days * 24 * 3600 * SECOND + iso.nanos
        return _compact_go_duration(ns) if ns > 0 else None
    return body if ns > 0 else None


def _compact_go_duration(ns: int) -> str:
    """Go's ``Duration.String()`` without zero tails: ``5m`` rather than ``5m0s``."""
    text = format_go_duration(ns)
    if text.endswith("m0s"):
        text = text[:-2]
    if text.endswith("h0m"):
        text = text[:-2]
    return text


def _field_findings(prefix: str, fields: list[str], http: str | None) -> list[Finding]:
    out: list[Finding] = []
    dow = fields[5]
    if re.search(r"(?<![/\d])0*7(?!\d)", dow.split("/")[0]) or re.search(r"^0*7/|,0*7/", dow):
        fixed = _fix_weekday_seven(dow)
        suggestion = (
            f'Write "{_with_prefix(prefix, " ".join([*fields[:5], fixed]))}".'
            if fixed else "Use 0 or SUN for Sunday."
        )
        out.append(_rejected(
            "weekday-seven",
            "Day-of-week 7 is not Sunday in Dapr: the range is 0-6 (0 = Sunday). The cron "
            "binding docs say 0-7; the code accepts only 0-6.",
            suggestion + " (0 or SUN means Sunday.)",
            http,
        ))
    for i, raw in enumerate(fields):
        if re.search(r"[LW#]", raw.upper().replace("WED", "")):
            out.append(_rejected(
                "unsupported-cron-char",
                f"{raw!r}: Dapr's cron has no L, W or # (last day, weekday, n-th weekday).",
                "Dapr cannot say 'last day' or 'second Monday'. Fire daily (e.g. "
                '"0 0 9 * * *") and check the date in your handler. Careful: "0 0 9 8-14 * MON" '
                "is NOT the second Monday — day-of-month and weekday are OR-ed.",
                http,
            ))
            break
        wrap = _wrapping_range(raw, i)
        if wrap is not None:
            fixed = [*fields]
            fixed[i] = wrap
            out.append(_rejected(
                "wrapping-range",
                f"{raw!r}: Dapr ranges cannot wrap around (start after end).",
                f'Split the range: "{_with_prefix(prefix, " ".join(fixed))}".',
                http,
            ))
    return out


def _fix_weekday_seven(dow: str) -> str | None:
    parts = []
    for part in dow.split(","):
        if "/" in part:
            return None
        lo, _, hi = part.partition("-")
        if hi and hi.lstrip("0") == "7":
            parts.append(f"{lo}-6,0" if lo.lstrip("0") not in ("6", "") else "6,0")
        elif not hi and lo.lstrip("0") == "7":
            parts.append("0")
        else:
            parts.append(part)
    candidate = ",".join(parts)
    try:
        parse_schedule(f"0 0 0 * * {candidate}")
    except ScheduleError:
        return None
    return candidate


def _wrapping_range(raw: str, index: int) -> str | None:
    bounds = FIELD_BOUNDS[index]
    out, changed = [], False
    for part in raw.split(","):
        rng, slash, _step = part.partition("/")
        lo_text, dash, hi_text = rng.partition("-")
        lo, hi = _value(lo_text, index), _value(hi_text, index)
        if dash and lo is not None and hi is not None and lo > hi:
            if slash:
                return None
            top, bottom = str(bounds.hi), str(bounds.lo)
            if bounds.names and not lo_text.isdigit():
                by_value = {v: k.upper() for k, v in bounds.names.items()}
                top, bottom = by_value[bounds.hi], by_value[bounds.lo]
            out += [f"{lo_text}-{top}", f"{bottom}-{hi_text}"]
            changed = True
        else:
            out.append(part)
    return ",".join(out) if changed else None


def _value(text: str, index: int) -> int | None:
    names = FIELD_BOUNDS[index].names or {}
    if text.lower() in names:
        return names[text.lower()]
    return int(text) if text.isdigit() else None


# --- valid schedules that probably do not do what was meant --------------------------------


def _every_findings(s: EverySchedule) -> list[Finding]:
    if s.delay_ns >= SECOND:
        return []
    what = (
        "no delay, so the job fires back to back in a tight loop"
        if s.delay_ns <= 0
        else f"a {format_go_duration(s.delay_ns)} delay, so the job fires "
        f"{SECOND // s.delay_ns:,} times a second"
    )
    cap = ('cap it with "repeats" (a ttl does not stop it: its fire time never moves, so it is '
           "never after the expiry)" if s.delay_ns <= 0 else 'cap it with "repeats"/"ttl"')
    return [Finding(
        "tight-loop",
        f"{s.text} has {what}. Since Dapr 1.16 sub-second @every is honoured exactly "
        "(before, it was rounded to whole seconds, at least 1s).",
        f'Use a cadence of a second or more, e.g. "@every 1s", or {cap}.',
        severity="warning",
    )]


def _cron_findings(s: CronSchedule) -> list[Finding]:
    out: list[Finding] = []
    f = s.fields
    if s.descriptor in _LOCAL_MIDNIGHT and s.zone_name is None:
        out.append(Finding(
            "descriptor-utc",
            f"{s.descriptor} is midnight UTC, not your local midnight: Dapr's Scheduler "
            "evaluates schedules without a zone prefix in UTC.",
            f'If you meant local midnight, say where: "CRON_TZ=Europe/Berlin '
            f'{_LOCAL_MIDNIGHT[s.descriptor]}" (with your IANA zone).',
            severity="warning",
        ))
    sec_star = bool(s.second & STAR_BIT)
    rest_star = all(getattr(s, a) & STAR_BIT for a in ("minute", "hour", "dom", "month", "dow"))
    if sec_star and rest_star:
        out.append(Finding(
            "every-second",
            '"* * * * * *" fires every second (the first field is seconds).',
            'Did you mean every minute? That is "0 * * * * *" (or "@every 1m").',
            severity="question",
        ))
    elif sec_star:
        once = _with_prefix(_zone_prefix(s), " ".join(["0", *f[1:]]))
        out.append(Finding(
            "seconds-wildcard",
            f'The seconds field is "{f[0]}", so this fires every second of each matching '
            "minute (60 times), not once.",
            f'Did you mean once a minute? Write "{once}".',
            severity="question",
        ))
    elif re.fullmatch(r"\*/\d+", f[0]) and rest_star:
        step = f[0].split("/")[1]
        out.append(Finding(
            "seconds-step",
            f'"{f[0]}" in the first field means every {step} seconds in Dapr (seconds come '
            "first).",
            f'Did you mean every {step} minutes? That is "0 */{step} * * * *".',
            severity="question",
        ))
    elif re.fullmatch(r"0+", f[5]) and not re.fullmatch(r"0+", f[0]) and s.descriptor is None:
        out.append(Finding(
            "seconds-last",
            "The last field is 0, which Dapr reads as day-of-week Sunday. If you wrote seconds "
            "last (croniter's default), Dapr reads your minutes as seconds.",
            f'Did you mean "{_with_prefix(_zone_prefix(s), " ".join(["0", *f[:5]]))}"?',
            severity="question",
        ))
    if not s.dom & STAR_BIT and not s.dow & STAR_BIT:
        out.append(Finding(
            "dom-or-dow",
            f'Both day-of-month ("{f[3]}") and day-of-week ("{f[5]}") are set, so Dapr fires '
            "when EITHER matches (cron's OR rule), not when both do: "
            '"0 0 9 1-7 * MON" fires on days 1-7 and on every Monday.',
            'Keep one of them as "*" (e.g. fire on the weekday and check the date in your '
            "handler).",
            severity="warning",
        ))
    return out


def _nonstop_findings(spec: JobSpec, created: int) -> list[Finding]:
    """A schedule that matches nothing: Dapr fires the job back to back, not never.

    dapr/kit's cron ``Next`` answers "nothing within five years" with Go's zero time, and
    go-etcd-cron takes that as the next fire time, always due (see ``_job.py``). Measured on
    Dapr 1.18.3 against a local app: ``0 0 0 31 2 *`` fired 1,300-1,400 times in 2 s, until
    deleted; with ``repeats: 3``, 3 times within milliseconds; a ttl did not stop it.
    """
    if not _schedule_ok(spec.schedule):
        return []
    repeats = spec.repeats
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        repeats = None
    due = spec.due_time if isinstance(spec.due_time, str) else None
    try:
        timing = JobTiming.build(schedule=spec.schedule, due_time=due, repeats=repeats,
                                 created=created)
    except ScheduleError:  # a bad dueTime: reported on its own
        timing = JobTiming.build(schedule=spec.schedule, repeats=repeats, created=created)
    ticks = list(islice(timing.iter_ns(), 2))
    if GO_ZERO_NS not in ticks:
        return []
    start = "from its dueTime on" if ticks[0] != GO_ZERO_NS else "as soon as it is created"
    if repeats is None:
        what = (
            "fires it in a tight loop, back to back (hundreds of times a second), "
            f"{start}, until you delete it"
        )
    else:
        what = (
            f"fires all {repeats} repeats back to back, {start}"
            if repeats > 1 else f"fires it once, {start}"
        )
    ttl = ""
    if isinstance(spec.ttl, str) and repeats is None:
        ttl = (" Its ttl does not stop it: Dapr ends a job when the next fire time is after "
               "the ttl, and year 1 is after nothing.")
    return [Finding(
        "fires-nonstop",
        "No date matches this schedule within five years. Dapr 1.18.3 does not read that as "
        "\"never\": its cron library answers with Go's zero time (0001-01-01), which the "
        f"Scheduler takes as a fire time that is always due. So Dapr {what}."
        + ttl,
        "If it is running, stop it: DELETE /v1.0/jobs/<name>. Then correct the day-of-month "
        "and month so that a date exists (there is no 30 or 31 February, and no 31 April, "
        "June, September or November).",
        severity="warning",
    )]


def _zone_prefix(s: CronSchedule) -> str:
    return f"CRON_TZ={s.zone_name}" if s.zone_name is not None else ""

