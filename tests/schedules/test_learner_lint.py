"""lint(): the mistakes people make, each rule with a positive and a negative case.

The rules come from docs/dapr-behaviour.md: the request body, validation order and error table,
the grammar, timing and time zone, where the cron binding differs
(docs/dapr-behaviour.md#cron-bindings), and what tutorials get wrong
(docs/dapr-behaviour.md#common-misconceptions).
"""

from __future__ import annotations

from typing import Any

import pytest

from jobslab.schedules import Finding, lint

NOW = "2026-01-01T09:00:00Z"
WRAP = "failed to schedule job due to: rpc error: code = Unknown desc = job failed validation: "


def codes(job: Any) -> list[str]:
    return [f.code for f in lint(job, now=NOW)]


def only(job: Any, code: str) -> Finding:
    found = [f for f in lint(job, now=NOW) if f.code == code]
    assert len(found) == 1, lint(job, now=NOW)
    return found[0]


@pytest.mark.parametrize(
    "job",
    [
        "0 30 9 * * MON-FRI",
        "@every 30s",
        "CRON_TZ=Europe/Berlin 0 0 0 * * *",
        {"schedule": "@every 30s", "dueTime": "0s", "ttl": "1h", "repeats": 5,
         "data": {"order": 1}, "overwrite": True, "failurePolicy": {"drop": {}}},
        {"schedule": "0 */5 * * * *",
         "failure_policy": {"constant": {"interval": "0.5s", "max_retries": 3}}},
        {"dueTime": "2026-01-01T10:00:00Z", "repeats": 1},
    ],
)
def test_clean_jobs_have_no_findings(job: Any) -> None:
    assert lint(job, now=NOW) == []


def test_five_field_cron() -> None:
    f = only("*/5 * * * *", "five-field-cron")
    assert f.severity == "error"
    assert '"0 */5 * * * *"' in f.fix
    assert "binding" in f.message and "accepts 5" in f.message  # the binding parser does
    assert f.dapr_error == WRAP + "expected exactly 6 fields, found 5: [*/5 * * * *]"
    assert f.status == 500
    assert "five-field-cron" not in codes("0 */5 * * * *")


def test_five_field_keeps_tz_prefix_in_fix() -> None:
    assert '"CRON_TZ=Europe/Berlin 0 0 9 * * 1-5"' in only(
        "CRON_TZ=Europe/Berlin 0 9 * * 1-5", "five-field-cron").fix


@pytest.mark.parametrize(("bare", "every"), [("2h45m", "@every 2h45m"), ("PT5M", "@every 5m")])
def test_bare_duration(bare: str, every: str) -> None:
    f = only(bare, "bare-duration")
    assert f'"{every}"' in f.fix
    assert f.dapr_error == WRAP + f"expected exactly 6 fields, found 1: [{bare}]"
    assert codes(every) == []


@pytest.mark.parametrize(
    ("schedule", "fixed"),
    [("0 0 0 * * 7", "0 0 0 * * 0"), ("0 0 9 * * 1-7", "0 0 9 * * 1-6,0"),
     ("0 0 9 * * 5,7", "0 0 9 * * 5,0")],
)
def test_weekday_seven(schedule: str, fixed: str) -> None:
    f = only(schedule, "weekday-seven")
    assert f'"{fixed}"' in f.fix and "SUN" in f.fix
    assert "end of range (7) above maximum (6)" in (f.dapr_error or "")
    assert codes(fixed) == []


def test_weekday_seven_also_in_five_fields() -> None:
    assert codes("0 9 * * 7") == ["five-field-cron", "weekday-seven"]
    assert "weekday-seven" not in codes("0 0 7 * * *")  # hour 7 is fine


@pytest.mark.parametrize(("interval", "fixed"), [("200ms", "0.2s"), ("2m", "120s"),
                                                  ("1h30m", "5400s")])
def test_failure_policy_interval_needs_decimal_seconds(interval: str, fixed: str) -> None:
    job = {"schedule": "@every 1m",
           "failurePolicy": {"constant": {"interval": interval, "maxRetries": 3}}}
    f = only(job, "interval-format")
    assert f.status == 400
    assert f'"interval": "{fixed}"' in f.fix
    assert f.dapr_error is not None
    assert f.dapr_error.startswith("failed deserializing HTTP body: proto: ")
    assert f'invalid google.protobuf.Duration value "{interval}"' in f.dapr_error


@pytest.mark.parametrize("interval", ["3s", "0.5s", "0s", "1.s", ".5s", "-1s"])
def test_protobuf_durations_are_accepted(interval: str) -> None:
    job = {"schedule": "@every 1m", "failurePolicy": {"constant": {"interval": interval}}}
    assert codes(job) == []


@pytest.mark.parametrize("interval", ["00s", "1.1234567891s", "s", "5"])
def test_protobuf_duration_edge_cases_are_rejected(interval: str) -> None:
    job = {"schedule": "@every 1m", "failurePolicy": {"constant": {"interval": interval}}}
    assert codes(job) == ["interval-format"]


def test_tz_prefix_on_every_rejected_since_1_18_3() -> None:
    f = only("TZ=Europe/Berlin @every 1h", "tz-on-every")
    assert f.severity == "error" and '"@every 1h"' in f.fix
    assert f.dapr_error is not None and f.dapr_error.endswith(
        "timezone is not supported for @every schedules: TZ=Europe/Berlin @every 1h")
    assert codes("@every 1h") == []
    assert "tz-on-every" not in codes("TZ=UTC @everyday")  # no @every: Dapr says "unrecognized"


def test_descriptors_are_utc_midnight() -> None:
    f = only("@daily", "descriptor-utc")
    assert f.severity == "warning"
    assert "CRON_TZ=" in f.fix and "0 0 0 * * *" in f.fix
    assert "0 0 0 * * 0" in only("@weekly", "descriptor-utc").fix
    assert "descriptor-utc" not in codes("@hourly")
    assert "descriptor-utc" not in codes("CRON_TZ=Europe/Berlin @daily")


@pytest.mark.parametrize(
    ("schedule", "code", "suggestion"),
    [
        ("*/5 * * * * *", "seconds-step", "0 */5 * * * *"),
        ("* * * * * *", "every-second", "0 * * * * *"),
        ("* 30 9 * * *", "seconds-wildcard", "0 30 9 * * *"),
        ("30 9 * * * 0", "seconds-last", "0 30 9 * * *"),
    ],
)
def test_seconds_first_habits_are_questions(
    schedule: str, code: str, suggestion: str
) -> None:
    f = only(schedule, code)
    assert f.severity == "question"
    assert "?" in f.fix and f'"{suggestion}"' in f.fix
    assert codes(suggestion) == []


def test_seconds_heuristics_stay_quiet_on_deliberate_schedules() -> None:
    assert codes("*/5 0 * * * *") == []  # every 5 s, during minute 0: restricted on purpose
    assert codes("0 0 0 * * 0") == []  # Sunday midnight, seconds first


def test_repeats_without_schedule() -> None:
    f = only({"dueTime": "10s", "repeats": 3}, "repeats-without-schedule")
    assert f.dapr_error == WRAP + "job must have a schedule to repeat"
    assert codes({"dueTime": "10s", "repeats": 1}) == []


def test_repeats_zero() -> None:
    f = only({"schedule": "@every 1s", "repeats": 0}, "repeats-zero")
    assert f.dapr_error == WRAP + "defined repeats must be greater than 0"


def test_ttl_without_schedule() -> None:
    f = only({"dueTime": "10s", "ttl": "1h"}, "ttl-without-schedule")
    assert f.dapr_error == WRAP + "job must have a schedule to have a ttl"
    assert codes({"schedule": "@every 1m", "dueTime": "10s", "ttl": "1h"}) == []


def test_no_schedule_no_due_time() -> None:
    f = only({"data": {"x": 1}}, "no-schedule")
    assert (f.status, f.dapr_error) == (400, "Schedule is empty")


def test_tight_loop() -> None:
    assert only("@every 0s", "tight-loop").severity == "warning"
    assert "10 times a second" in only("@every 100ms", "tight-loop").message


def test_tight_loop_fix_offers_ttl_only_when_the_fire_time_moves() -> None:
    """`@every 0s` never moves past a ttl's expiry, so only repeats caps it
    (docs/dapr-behaviour.md#schedules-that-never-match); a sub-second delay does reach it."""
    assert '"repeats"/"ttl"' not in only("@every 0s", "tight-loop").fix
    assert "a ttl does not stop it" in only("@every 0s", "tight-loop").fix
    assert '"repeats"/"ttl"' in only("@every 100ms", "tight-loop").fix
    assert codes("@every 1s") == []


def test_ttl_before_first_fire_never_fires() -> None:
    # {"schedule":"@daily","ttl":"2h"} created at 09:00 UTC: 204, never fires, deleted
    # (docs/dapr-behaviour.md#repeats-and-ttl).
    assert "ttl-before-first-fire" in codes({"schedule": "@daily", "ttl": "2h"})
    assert "ttl-before-first-fire" not in codes({"schedule": "@daily", "ttl": "24h"})


def test_bad_due_time_and_ttl_carry_daprs_message() -> None:
    assert only({"dueTime": "tomorrow"}, "bad-duetime").dapr_error == (
        WRAP + "due time format not recognized")
    assert only({"schedule": "@every 1s", "ttl": "R5/PT1H"}, "bad-ttl").dapr_error == (
        WRAP + "ttl format not recognized")
    f = only({"schedule": "@every 1s", "dueTime": "2h", "ttl": "2026-01-01T10:00:00Z"}, "bad-ttl")
    assert f.dapr_error == WRAP + "ttl must be greater than due time"


def test_several_problems_are_all_reported() -> None:
    assert codes({"schedule": "*/5 * * * *", "ttl": "bad"}) == ["five-field-cron", "bad-ttl"]


def test_name_in_body_and_unknown_fields() -> None:
    assert only({"name": "x", "schedule": "@every 1s"}, "name-in-body").status == 400
    f = only({"schedule": "@every 1s", "duetime": "10s"}, "unknown-field")
    assert f.severity == "warning" and '"dueTime"' in f.message


def test_negative_repeats_is_malformed_json() -> None:
    f = only({"schedule": "@every 1s", "repeats": -1}, "malformed-body")
    assert f.status == 400 and "uint32 field repeats: -1" in (f.dapr_error or "")


@pytest.mark.parametrize(
    ("schedule", "code", "fix"),
    [
        ("@DAILY", "descriptor-case", '"@daily"'),
        ("@every2h", "every-format", '"@every 2h"'),
        ("0 0 22-2 * * *", "wrapping-range", '"0 0 22-23,0-2 * * *"'),
        ("0 0 0 * * FRI-MON", "wrapping-range", '"0 0 0 * * FRI-SAT,SUN-MON"'),
        ("0 30 9 * * * 2026", "year-field", '"0 30 9 * * *"'),
        ("0 0 0 L * *", "unsupported-cron-char", "handler"),
    ],
)
def test_other_grammar_mistakes(schedule: str, code: str, fix: str) -> None:
    f = only(schedule, code)
    assert fix in f.fix and f.severity == "error"
    assert f.dapr_error is not None and f.dapr_error.startswith(WRAP)


def test_dom_and_dow_are_or_ed() -> None:
    assert only("0 0 9 8-14 * MON", "dom-or-dow").severity == "warning"
    assert codes("0 0 9 * * MON") == []


def test_impossible_date_fires_nonstop() -> None:
    # Dapr fires it back to back at Go's zero time, not never (test_never_matching.py).
    assert codes("0 0 0 30 2 *") == ["fires-nonstop"]


def test_unrecognised_schedule_falls_back_to_daprs_message() -> None:
    f = only("bogus", "invalid-schedule")
    assert f.dapr_error == WRAP + "expected exactly 6 fields, found 1: [bogus]"


def test_finding_reads_well() -> None:
    text = str(only("*/5 * * * *", "five-field-cron"))
    assert text.splitlines()[0].startswith("[error] five-field-cron: ")
    assert "fix: " in text and "Dapr answers 500: " in text


def test_lint_refuses_other_types_clearly() -> None:
    with pytest.raises(TypeError, match="schedule string or a job dict"):
        lint(42)  # type: ignore[arg-type]
