"""jobslab.check: one line out; a raise interactively, a JSON record under grading; the registry
the grader reads (docs/labs-and-grading.md#the-check-api)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jobslab
from jobslab import checks
from jobslab.checks import CheckFailed, Fail, exercise, expect
from support.grading import LAB90


@exercise("97.1", title="the answer is 42")
def _answer(*, value: int) -> None:
    expect(value == 42, f"you gave {value}; the answer is six times seven")


@exercise("97.2", title="a learner function returns a list", points=3)
def _calls(*, func) -> None:
    result = func()
    if not isinstance(result, list):
        raise Fail(f"it returned {type(result).__name__}, not a list")


@exercise("97.10", title="the tenth exercise sorts after the second")
def _tenth() -> None:
    pass


@pytest.fixture(autouse=True)
def _interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(checks.ENV_RESULTS, raising=False)


def test_a_pass_prints_exactly_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert jobslab.check("97.1", value=42) is None
    assert capsys.readouterr().out == "✅ 97.1 the answer is 42\n"


def test_a_failure_raises_one_line_and_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CheckFailed) as info:
        jobslab.check("97.1", value=41)
    line = "❌ 97.1 the answer is 42 — you gave 41; the answer is six times seven"
    assert str(info.value) == line
    assert info.value._render_traceback_() == [line]  # what IPython shows instead of a traceback
    assert not info.value.result.passed and info.value.result.earned == 0
    assert capsys.readouterr().out == ""


def test_check_failed_is_a_jobslab_error() -> None:
    from jobslab.errors import JobslabError

    assert issubclass(CheckFailed, JobslabError) and issubclass(Fail, JobslabError)
    assert issubclass(checks.UnknownExercise, JobslabError)


def test_under_grading_a_failure_is_recorded_printed_and_not_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv(checks.ENV_RESULTS, str(results))
    jobslab.check("97.1", value=41)
    jobslab.check("97.2", func=lambda: [1])
    out = capsys.readouterr().out.splitlines()
    assert out == ["❌ 97.1 the answer is 42 — you gave 41; the answer is six times seven",
                   "✅ 97.2 a learner function returns a list"]
    records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert [(r["exercise"], r["passed"], r["points"], r["earned"]) for r in records] == [
        ("97.1", False, 1, 0), ("97.2", True, 3, 3)]
    assert records[0]["message"] == "you gave 41; the answer is six times seven"


def test_a_learner_stub_is_named_as_not_answered() -> None:
    def stub():
        raise NotImplementedError()

    result = checks.evaluate(checks.get_exercise("97.2"), {"func": stub})
    assert not result.passed and result.message.startswith("not answered yet")


def test_a_learner_exception_fails_the_check_with_its_name() -> None:
    result = checks.evaluate(checks.get_exercise("97.2"), {"func": lambda: 1 / 0})
    assert not result.passed
    assert "ZeroDivisionError: division by zero" in result.message


def test_an_edited_check_cell_is_told_to_restore_it() -> None:
    result = checks.evaluate(checks.get_exercise("97.1"), {"valeu": 42})
    assert not result.passed and "check cell was changed" in result.message


def test_a_long_hint_stays_on_one_short_line() -> None:
    result = checks.evaluate(checks.get_exercise("97.2"),
                             {"func": lambda: (_ for _ in ()).throw(ValueError("x\n" * 500))})
    assert "\n" not in result.line and len(result.message) <= checks._run.MAX_HINT


def test_exercises_are_enumerable_in_numeric_order() -> None:
    assert [e.id for e in checks.exercises("97")] == ["97.1", "97.2", "97.10"]
    assert sum(e.points for e in checks.exercises(97)) == 5


def test_a_lab_module_is_found_on_the_checks_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(checks.ENV_CHECKS_PATH, str(LAB90))
    found = checks.exercises("90-fixture")
    assert [(e.id, e.points) for e in found] == [("90.1", 1), ("90.2", 1), ("90.3", 1),
                                                 ("90.4", 2)]
    assert all(e.title and "\n" not in e.title for e in found)


def test_unknown_labs_and_exercises_say_what_exists() -> None:
    with pytest.raises(checks.UnknownExercise, match="lab 96 has no checks"):
        checks.exercises("96")
    with pytest.raises(checks.UnknownExercise, match=r"no exercise 97\.3 \(it has: 97\.1, 97\.2"):
        jobslab.check("97.3")
    with pytest.raises(checks.UnknownExercise, match="not an exercise id"):
        jobslab.check("97-1")


def test_registering_an_id_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        exercise("97.1", title="another")(lambda: None)
    with pytest.raises(ValueError, match="must look like"):
        exercise("7.1", title="bad id")
