"""Behaviour checks for the labs, and the registry the grader reads.

A lab's exercises are check functions in ``jobslab.checks.labNN`` (docs/labs-and-grading.md)::

    from jobslab.checks import Fail, exercise, expect, job_or_none

    @exercise("04.1", title="the job fires every second", points=1)
    def every_second(*, name: str) -> None:
        job = job_or_none(name)
        expect(job is not None, f"there is no job {name!r}: did the POST answer 204?")
        expect(job["schedule"] == "@every 1s", f"its schedule is {job['schedule']!r}")

and a notebook checks an exercise with ``jobslab.check("04.1", name=f"{JOB_PREFIX}tick")``:
one line, ``✅ 04.1 …`` or ``❌ 04.1 … — <hint>`` (raised as :class:`CheckFailed`, or recorded
when ``jobslab grade`` runs the notebook).
"""

from __future__ import annotations

from ._helpers import (
    call_app,
    handler_answer,
    handler_raised,
    job_data,
    job_or_none,
    triggers,
    unanswered_stub,
    wait_until,
)
from ._registry import (
    ENV_CHECKS_PATH,
    Exercise,
    UnknownExercise,
    exercise,
    exercises,
    get_exercise,
    lab_id,
    load,
)
from ._run import (
    ENV_RESULTS,
    FAIL_MARK,
    PASS_MARK,
    CheckFailed,
    CheckResult,
    Fail,
    check,
    evaluate,
    expect,
    fail,
    grading,
)

__all__ = [
    "ENV_CHECKS_PATH",
    "ENV_RESULTS",
    "FAIL_MARK",
    "PASS_MARK",
    "CheckFailed",
    "CheckResult",
    "Exercise",
    "Fail",
    "UnknownExercise",
    "call_app",
    "check",
    "evaluate",
    "exercise",
    "exercises",
    "expect",
    "fail",
    "get_exercise",
    "grading",
    "handler_answer",
    "handler_raised",
    "job_data",
    "job_or_none",
    "lab_id",
    "load",
    "triggers",
    "unanswered_stub",
    "wait_until",
]
