"""Running one check: one line out, and a raise, or a record for the grader.

- Interactively, under nbval and in plain Python: a pass prints ``✅ 04.2 <title>``; a failure
  raises :class:`CheckFailed`, whose traceback in Jupyter is that one line
  (``❌ 04.2 <title> — <hint>``; IPython shows what ``_render_traceback_`` returns).
- Under grading (``$JOBSLAB_GRADING_RESULTS`` names a file, as ``jobslab grade`` sets): the
  line is printed either way, the result is appended to that file as one JSON line, and
  nothing is raised, so the notebook goes on to the next exercise.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from ..errors import JobslabError
from ._registry import Exercise, get_exercise

#: ``$JOBSLAB_GRADING_RESULTS``: when set, checks record to this file and never raise.
ENV_RESULTS = "JOBSLAB_GRADING_RESULTS"
PASS_MARK = "✅"
FAIL_MARK = "❌"
#: The longest hint a line shows (a learner's exception text can be long).
MAX_HINT = 300


class Fail(JobslabError):
    """Raised by a check function: the exercise is not right; ``hint`` says what to fix.

    Example::

        raise Fail("the job fires every minute: the first field is seconds")
    """

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


class CheckFailed(JobslabError):
    """What ``jobslab.check`` raises when an exercise is not right (outside grading).

    In Jupyter its traceback is one line: ``❌ 04.2 <title> — <hint>``. ``result`` holds the
    :class:`CheckResult`.
    """

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.line)
        self.result = result

    def _render_traceback_(self) -> list[str]:
        """IPython shows these lines instead of a traceback."""
        return [self.result.line]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: which exercise, passed or not, and the one-line message."""

    exercise: str
    title: str
    passed: bool
    points: int
    message: str = ""

    @property
    def earned(self) -> int:
        """The points earned: all of them on a pass, none on a failure."""
        return self.points if self.passed else 0

    @property
    def line(self) -> str:
        """``✅ 04.2 <title>`` or ``❌ 04.2 <title> — <hint>``."""
        if self.passed:
            return f"{PASS_MARK} {self.exercise} {self.title}"
        return f"{FAIL_MARK} {self.exercise} {self.title} — {self.message}"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "earned": self.earned}, ensure_ascii=False)


def fail(hint: str) -> NoReturn:
    """Fail the current check with ``hint`` (same as ``raise Fail(hint)``)."""
    raise Fail(hint)


def expect(condition: object, hint: str) -> None:
    """Fail the current check with ``hint`` unless ``condition`` is true.

    Example::

        expect(job["schedule"] == "@every 1s", f"the schedule is {job['schedule']!r}: …")
    """
    if not condition:
        raise Fail(hint)


def grading() -> bool:
    """True when ``jobslab grade`` runs this notebook (checks record instead of raising)."""
    return bool(os.environ.get(ENV_RESULTS))


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_HINT else text[:MAX_HINT - 1] + "…"


def _describe(err: BaseException) -> str:
    text = _one_line(str(err))
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def evaluate(exercise: Exercise, kwargs: dict[str, Any]) -> CheckResult:
    """Run ``exercise``'s check with ``kwargs``; never raises (but for KeyboardInterrupt)."""
    def result(passed: bool, message: str = "") -> CheckResult:
        return CheckResult(exercise.id, exercise.title, passed, exercise.points,
                           _one_line(message))

    try:
        inspect.signature(exercise.func).bind(**kwargs)
    except TypeError as err:
        return result(False, f"the check cell was changed ({err}): restore it as it was "
                             "given, with the same arguments")
    try:
        outcome = exercise.func(**kwargs)
    except Fail as err:
        return result(False, err.hint or "not right yet")
    except AssertionError as err:
        return result(False, str(err) or "not right yet")
    except NotImplementedError:
        return result(False, "not answered yet: replace `raise NotImplementedError()` under "
                             "`# YOUR CODE HERE` with your answer")
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a learner's function raised, or the backend is not there
        return result(False, f"the check stopped on {_describe(err)} — run the cells above "
                             "again from the top, then this one")
    if outcome is False:
        return result(False, "not right yet")
    return result(True)


def record(result: CheckResult, path: str) -> None:
    """Append ``result`` to the grader's results file (one JSON line)."""
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(result.to_json() + "\n")
    except OSError:  # the grader then counts the exercise as not reached
        pass


def check(exercise_id: str, /, **kwargs: Any) -> None:
    """Check exercise ``exercise_id`` against the running backend; print or raise one line.

    ``kwargs`` go to the exercise's check function (what the notebook made: a job name, the
    serve handle, a function to call …). A pass prints ``✅ <id> <title>``. A failure raises
    :class:`CheckFailed` (shown as ``❌ <id> <title> — <hint>``), except under grading, where
    it prints that line, records the result and returns, so the notebook goes on. Returns
    None, so a check cell shows nothing but its line; :func:`evaluate` returns the result.

    Example::

        jobslab.check("04.2", handle=handle, name=f"{JOB_PREFIX}retry")
    """
    exercise = get_exercise(exercise_id)
    result = evaluate(exercise, kwargs)
    results_file = os.environ.get(ENV_RESULTS)
    if results_file:
        print(result.line)
        sys.stdout.flush()
        record(result, results_file)
        return
    if not result.passed:
        raise CheckFailed(result)
    print(result.line)
