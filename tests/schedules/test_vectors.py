"""Dapr's own answers (tests/data/dapr-schedule-vectors.jsonl) against the engine's.

Each vector was computed by running dapr/kit's cron parser and go-etcd-cron's job rules
(validation, dueTime/ttl parsing, when the job fires); tests/data/README.md says how.
``expect: {}`` means "no fires and no error".
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from jobslab.schedules import JobTiming, ScheduleError, format_rfc3339, parse_rfc3339

VECTORS = Path(__file__).resolve().parents[1] / "data" / "dapr-schedule-vectors.jsonl"


def _records() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in VECTORS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _load() -> list[Any]:
    if not VECTORS.is_file():
        # Collected as one case that fails (see test_vector_file_is_in_the_repository).
        return [pytest.param(None, id="vectors-missing")]
    return [pytest.param(r, id=r["case"]["id"]) for r in _records()]


def _run(case: dict[str, Any]) -> dict[str, Any]:
    try:
        timing = JobTiming.build(
            schedule=case.get("schedule"),
            due_time=case.get("dueTime"),
            ttl=case.get("ttl"),
            repeats=case.get("repeats"),
            created=parse_rfc3339(case["created"]),
        )
    except ScheduleError as exc:
        return {"error": str(exc)}
    fires = [format_rfc3339(ns) for ns in islice(timing.iter_ns(), case["n"])]
    return {"fires": fires} if fires else {}


def test_vector_file_is_in_the_repository() -> None:
    """The reference vectors ship with the tests; a missing file is a failure, not a skip."""
    assert VECTORS.is_file(), f"reference vectors missing: {VECTORS}"


@pytest.mark.parametrize("vector", _load())
def test_dapr_reference_vector(vector: dict[str, Any] | None) -> None:
    """Fire times and errors equal those Dapr's own code computed."""
    assert vector is not None, f"reference vectors missing: {VECTORS}"
    case, expect = vector["case"], vector["expect"]
    if expect.get("fires") == []:
        expect = {}
    assert _run(case) == expect, case


def test_vector_file_covers_errors_and_fires() -> None:
    """The sample really exercises both outcomes (guards against an empty or cut file)."""
    records = _records()
    assert len(records) >= 140
    assert sum("error" in r["expect"] for r in records) >= 10
    assert sum(bool(r["expect"].get("fires")) for r in records) >= 50


def test_vector_ids_are_unique() -> None:
    """Each case has its own id, so a pytest id names exactly one line."""
    ids = [r["case"]["id"] for r in _records()]
    assert len(ids) == len(set(ids))


def test_sub_second_vectors_fire_on_whole_seconds() -> None:
    """The vectors created at a sub-second instant are schedules alone: cron fires, which
    land on whole seconds whatever the creation time's fraction."""
    subsecond = [r for r in _records() if parse_rfc3339(r["case"]["created"]) % 10**9]
    assert subsecond
    for r in subsecond:
        assert set(r["case"]) <= {"id", "created", "n", "schedule"}
        for fire in r["expect"].get("fires", []):
            assert parse_rfc3339(fire) % 10**9 == 0, r["case"]["id"]
