"""describe(): English for a schedule, true to Dapr's semantics
(docs/dapr-behaviour.md#schedule-grammar).

cron-descriptor supplies the wording; these tests pin the cases where its reading of an
expression differs from Dapr's and we must rewrite first or add a note.
"""

from __future__ import annotations

import pytest

from jobslab.schedules import ScheduleError, describe
from jobslab.schedules.describe import human_duration


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 30 9 * * MON-FRI", "At 09:30, Monday through Friday, in UTC."),
        # Seconds come first in 6 fields, in cron-descriptor as in Dapr.
        ("*/10 * * * * *", "Every 10 seconds, in UTC."),
        ("0 30 * * * *", "At 30 minutes past the hour, in UTC."),
        ("@daily", "At 00:00, in UTC (@daily means 0 0 0 * * *)."),
        ("@weekly", "At 00:00, only on Sunday, in UTC (@weekly means 0 0 0 * * 0)."),
        ("CRON_TZ=Europe/Berlin 0 0 9 * * *", "At 09:00, in Europe/Berlin time."),
        (
            "TZ=America/New_York 0 0 17 * * FRI",
            "At 17:00, only on Friday, in America/New_York time.",
        ),
    ],
)
def test_cron_descriptions(schedule: str, expected: str) -> None:
    assert describe(schedule) == expected


def test_every_is_counted_from_creation() -> None:
    assert describe("@every 2h45m") == (
        "Every 2 hours and 45 minutes, counted from creation (or dueTime), "
        "not aligned to the clock."
    )


def test_zero_every_is_a_tight_loop() -> None:
    assert "tight loop" in describe("@every 0s")
    assert "tight loop" in describe("@every 1ms")
    assert "tight loop" not in describe("@every 1s")


def test_question_mark_is_star_in_any_field() -> None:
    # cron-descriptor alone reads "0 0 0 * ? *" as minutes-first with a year: "day 0 of the month".
    assert describe("0 0 0 * ? *") == "At 00:00, in UTC."


def test_n_slash_step_on_weekday_means_n_to_max() -> None:
    # Dapr: "5/2" = 5-6/2 = Friday only. cron-descriptor alone says "every 2 weeks".
    assert describe("0 0 0 * * 5/2") == "At 00:00, only on Friday, in UTC."
    assert describe("0 0 0 * * */2") == (
        "At 00:00, only on Sunday, Tuesday, Thursday, and Saturday, in UTC."
    )


def test_n_slash_step_on_seconds_means_n_to_max() -> None:
    # Dapr "5/1" is 5-59, every second from :05 (not just second 5).
    assert describe("5/1 * * * * *") == "Seconds 5 through 59 past the minute, in UTC."
    # A stepped range that picks one value is that value.
    assert describe("0 5-5/2 * * * *") == "At 5 minutes past the hour, in UTC."


def test_dom_and_dow_both_set_notes_the_or_rule() -> None:
    text = describe("0 0 0 15 * 1-5")
    assert text.startswith("At 00:00, on day 15 of the month, Monday through Friday, in UTC.")
    assert "EITHER the day of the month OR the weekday" in text
    # One field starred: both must match, so no OR note.
    assert "EITHER" not in describe("0 0 0 * * 1-5")
    # "*/1" keeps the star (docs/dapr-behaviour.md#day-of-month-and-day-of-week): no OR rule.
    assert "EITHER" not in describe("0 0 0 14,26 * */1")


def test_dom_steps_restart_each_month() -> None:
    assert "days 1, 3, 5, 7, …, 31, then the 1st again" in describe("0 0 0 */2 * *")


def test_impossible_date_fires_continuously() -> None:
    assert "fires the job continuously" in describe("0 0 0 30 2 *")
    assert "never fires" not in describe("0 0 0 30 2 *")
    assert "continuously" not in describe("0 0 0 29 2 *")


def test_job_dict_mentions_due_time_repeats_and_ttl() -> None:
    text = describe({"schedule": "@every 5s", "dueTime": "10s", "ttl": "1m", "repeats": 3})
    assert text.startswith("Every 5 seconds")
    assert "first fire is at its dueTime (10s)" in text
    assert "stops after 3 fires" in text
    assert "ttl counts from dueTime" in text
    assert describe({"dueTime": "10s"}).startswith("Once, at its dueTime (10s)")


def test_invalid_schedule_raises_daprs_message() -> None:
    with pytest.raises(ScheduleError) as err:
        describe("0 0 9 * *")
    assert err.value.message == "expected exactly 6 fields, found 5: [0 0 9 * *]"
    with pytest.raises(ScheduleError, match="unrecognized descriptor: @DAILY"):
        describe("@DAILY")


@pytest.mark.parametrize(
    ("ns", "words"),
    [
        (0, "0 seconds"),
        (1_500_000_000, "1.5 seconds"),
        (90 * 60 * 10**9, "1 hour and 30 minutes"),
        (48 * 3600 * 10**9, "2 days"),
        (3_600_000_000_000 + 60 * 10**9 + 10**9, "1 hour, 1 minute and 1 second"),
        (1_000_000, "1 millisecond"),
        (250, "250 nanoseconds"),
    ],
)
def test_human_duration(ns: int, words: str) -> None:
    assert human_duration(ns) == words
