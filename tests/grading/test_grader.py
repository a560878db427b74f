"""jobslab grade end to end on the fixture lab: every kind of bad submission gets the points it
earned before it went wrong and a reason, nothing it does reaches another submission, and
regrading the folder writes the same gradebook (docs/labs-and-grading.md#grading)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat
import psutil
import pytest

from jobslab import checks, grading
from jobslab.authoring.labs import learner_copy
from support.grading import EXPECTED, LAB90, SOLUTION, write_all

pytestmark = pytest.mark.slow

#: Small limits, so the hanging and flooding fixtures end quickly.
LIMITS = {"workers": 2, "cell_timeout": 20, "timeout": 240, "max_output": 1024 * 1024}


@pytest.fixture(scope="module")
def env() -> None:
    saved = os.environ.get(checks.ENV_CHECKS_PATH)
    os.environ[checks.ENV_CHECKS_PATH] = str(LAB90)
    yield
    if saved is None:
        os.environ.pop(checks.ENV_CHECKS_PATH, None)
    else:
        os.environ[checks.ENV_CHECKS_PATH] = saved


def _grade(folder: Path, out: Path, scratch: Path, **limits: object
           ) -> dict[str, grading.SubmissionResult]:
    scratch.mkdir(parents=True, exist_ok=True)
    results = grading.grade([folder], "90", executed_dir=out / "executed", scratch=scratch,
                            **{**LIMITS, **limits})
    grading.write_gradebook(out, "90", results)
    return {r.student: r for r in results}


@pytest.fixture(scope="module")
def graded(env: None, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, Path, Path, dict[str, grading.SubmissionResult]]:
    root = tmp_path_factory.mktemp("grading")
    write_all(root / "submissions")
    results = _grade(root / "submissions", root / "out", root / "scratch")
    return root, root / "out", root / "scratch", results


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_what_it_earned_and_a_reason(graded, student: str) -> None:
    status, points, word = EXPECTED[student]
    result = graded[3][student]
    assert (result.status, [e.earned for e in result.exercises]) == (status, points), \
        result.reason
    assert word in result.reason
    assert bool(result.reason) == (student not in ("correct", "partly-correct"))


def test_the_partly_correct_submission_gets_hints_aimed_at_its_mistakes(graded) -> None:
    feedback = (graded[1] / "feedback" / "partly-correct.txt").read_text(encoding="utf-8")
    assert "❌ 90.2 the nightly job runs at 02:00:00 UTC with the report as data — its data " \
           "is {'report': 'ops'}" in feedback
    assert "❌ 90.4 the cleanup deleted the stale jobs and kept the others — l90-keep was " \
           "deleted too" in feedback
    assert "✅ 90.1 " in feedback and "✅ 90.3 " in feedback


def test_unreached_exercises_say_why(graded) -> None:
    feedback = (graded[1] / "feedback" / "sys-exit.txt").read_text(encoding="utf-8")
    assert "– 90.2 the nightly job runs at 02:00:00 UTC with the report as data — not " \
           "reached (cell 7 called sys.exit(); the rest did not run)" in feedback


def test_the_gradebook_has_a_row_per_student_and_feedback_for_each(graded) -> None:
    _, out, _, results = graded
    with open(out / "gradebook.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["student"] for r in rows] == sorted(results)
    assert all(r["max"] == "5" and r["lab"] == "90" for r in rows)
    assert sorted(p.stem for p in (out / "feedback").glob("*.txt")) == sorted(results)
    assert "pass rate" in (out / "gradebook.html").read_text(encoding="utf-8")


def test_a_snooping_submission_is_blocked_and_the_others_are_untouched(graded) -> None:
    results = graded[3]
    assert results["snoops"].status == "blocked"
    assert "signal processes that are not its own" in results["snoops"].reason
    assert "touch files of other submissions" in results["snoops"].reason
    assert results["correct"].total == results["correct"].max  # ran beside it, unharmed
    executed = nbformat.read(graded[1] / "executed" / "snoops.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    for refused in ("ports refused: all", "kill refused", "listing refused", "writing refused"):
        assert refused in printed


def test_nothing_is_left_running_or_on_disk(graded) -> None:
    scratch = graded[2]
    assert list(scratch.iterdir()) == []
    left = []
    for proc in psutil.process_iter():
        try:
            if str(scratch) in proc.environ().get("JOBSLAB_HOME", ""):
                left.append(proc.pid)
        except psutil.Error:
            continue
    assert not left


def test_regrading_the_same_folder_writes_the_same_gradebook(graded) -> None:
    root, out, _, _ = graded
    again = root / "again"
    _grade(root / "submissions", again, root / "scratch2")
    for name in ("gradebook.csv", "gradebook.html"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    for feedback in sorted((out / "feedback").glob("*.txt")):
        assert (again / "feedback" / feedback.name).read_bytes() == feedback.read_bytes()


def test_a_submission_past_its_whole_time_out_is_stopped(env: None, tmp_path: Path) -> None:
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))
    (tmp_path / "subs").mkdir()
    nbformat.write(nb, tmp_path / "subs" / "slow.ipynb")
    result = _grade(tmp_path / "subs", tmp_path / "out", tmp_path / "scratch",
                    cell_timeout=120, timeout=15)["slow"]
    assert result.status == "timeout" and result.total == 0
    assert result.reason == "ran longer than 15 s in all; stopped"
    assert list((tmp_path / "scratch").iterdir()) == []


def test_every_check_of_the_untouched_lab_runs_and_fails_when_kept_going(
        env: None, tmp_path: Path) -> None:
    (tmp_path / "subs").mkdir()
    nbformat.write(learner_copy(SOLUTION), tmp_path / "subs" / "untouched.ipynb")
    result = _grade(tmp_path / "subs", tmp_path / "out", tmp_path / "scratch",
                    keep_going=True)["untouched"]
    assert [e.passed for e in result.exercises] == [False] * 4, result.reason
    assert result.reason.endswith("(the other cells ran on)")
    assert result.exercises[0].message.startswith("not answered yet")


@pytest.mark.realdapr
def test_checks_grade_the_same_on_real_dapr(env: None, tmp_path: Path) -> None:
    write_all(tmp_path / "all")
    (tmp_path / "subs").mkdir()
    for student in ("correct", "partly-correct"):
        (tmp_path / "all" / f"{student}.ipynb").rename(tmp_path / "subs" / f"{student}.ipynb")
    # Real Dapr's scheduler (embedded etcd) can take more than the fixture's 20 s a cell to
    # start on a loaded machine; the stand-in's cells stay at 20 s.
    results = _grade(tmp_path / "subs", tmp_path / "out", tmp_path / "scratch",
                     backend="selfhosted", cell_timeout=90, timeout=480)
    for student, result in results.items():
        status, points, _ = EXPECTED[student]
        assert (result.status, [e.earned for e in result.exercises]) == (status, points), \
            result.reason
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_failed_check_in_a_kernel_shows_one_line(env: None, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3",
                                                           "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(
        'import jobslab\njobslab.check("90.1", app=None)')]
    env = {k: v for k, v in os.environ.items() if k != checks.ENV_RESULTS}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "CheckFailed"
    assert error.traceback == ["❌ 90.1 the handler answers 200 for a report, 400 without one "
                               "— pass your FastAPI application (app=app)"]
