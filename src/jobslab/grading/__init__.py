"""``jobslab grade``: run learners' lab notebooks against their own stand-in, score them with
the lab's checks, write a gradebook (docs/labs-and-grading.md#grading).

    from jobslab import grading
    results = grading.grade(["submissions/"], lab="04", workers=2)
    grading.write_gradebook("grades/lab-04", "04", results)
"""

from __future__ import annotations

from ._errors import GradingError
from ._grade import (
    DEFAULT_MAX_OUTPUT,
    NOT_REACHED,
    STATUSES,
    ExerciseResult,
    Submission,
    SubmissionResult,
    find_submissions,
    grade,
)
from ._gradebook import csv_text, feedback_text, header, html_text
from ._gradebook import write as _write
from ._sandbox import DEFAULT_PORT_RANGE


def write_gradebook(out, lab, results):  # type: ignore[no-untyped-def]
    """Write ``gradebook.csv``, ``gradebook.html`` and ``feedback/<student>.txt`` into
    ``out``; return their paths by kind (``csv``, ``html``, ``feedback``)."""
    from pathlib import Path

    from ..checks import lab_id

    return _write(Path(out), lab_id(lab), results)


__all__ = [
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_PORT_RANGE",
    "NOT_REACHED",
    "STATUSES",
    "ExerciseResult",
    "GradingError",
    "Submission",
    "SubmissionResult",
    "csv_text",
    "feedback_text",
    "find_submissions",
    "grade",
    "header",
    "html_text",
    "write_gradebook",
]
