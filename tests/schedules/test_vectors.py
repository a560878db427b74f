"""Dapr's own answers (shared/data/dapr-schedule-vectors.jsonl) against ours.

Each vector was computed by running dapr/kit's cron parser and go-etcd-cron's job rules
(contract §2 "Validation rules", §4 "Parser" and "When the job fires"). ``expect: {}`` means
"no fires and no error".
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from jobslab.schedules import JobTiming, ScheduleError, format_rfc3339, parse_rfc3339

# The repository's parent directory holds shared/ (also in CI, where a fresh clone sits
# beside it).
VECTORS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dapr-schedule-vectors.jsonl"
)


def _load() -> list[Any]:
    if not VECTORS.is_file():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(reason=f"reference vectors not found at {VECTORS}"),
                id="vectors-missing",
            )
        ]
    cases = []
    for line in VECTORS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            cases.append(pytest.param(record, id=record["case"]["id"]))
    return cases


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


@pytest.mark.parametrize("vector", _load())
def test_contract_s2_s4_dapr_reference_vector(vector: dict[str, Any]) -> None:
    """contract §2/§4: fire times and errors equal those Dapr's own code computed."""
    case, expect = vector["case"], vector["expect"]
    if expect.get("fires") == []:
        expect = {}
    assert _run(case) == expect, case


def test_contract_s4_vector_file_covers_errors_and_fires() -> None:
    """contract §4: the sample really exercises both outcomes (guards against an empty file)."""
    if not VECTORS.is_file():
        pytest.skip(f"reference vectors not found at {VECTORS}")
    records = [json.loads(x) for x in VECTORS.read_text(encoding="utf-8").splitlines() if x]
    assert sum("error" in r["expect"] for r in records) >= 10
    assert sum(bool(r["expect"].get("fires")) for r in records) >= 50
