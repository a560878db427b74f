"""Every lab in solutions/ proves both directions (docs/labs-and-grading.md#testing-a-lab): its
solution earns every point of every registered exercise, and its untouched learner copy earns
none, through the grader on the stand-in; on real Dapr, the grader runs one lab and nbval all
of them. Labs are found as they land; with none, nothing runs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from jobslab import checks, grading
from jobslab.authoring.labs import learner_copy

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))
IDS = [s.stem for s in SOLUTIONS]
LIMITS = {"workers": 2, "cell_timeout": 120, "timeout": 900}


def test_every_solution_has_three_to_six_registered_exercises() -> None:
    for solution in SOLUTIONS:
        found = checks.exercises(solution.name[:2])
        assert 3 <= len(found) <= 6, f"{solution.name}: {len(found)} exercises registered"
        nb = nbformat.read(solution, as_version=4)
        called = {m for c in nb.cells if c.cell_type == "code"
                  for m in re.findall(r"check\(\s*['\"](\d\d\.\d+)['\"]", c.source)}
        unchecked = [e.id for e in found if e.id not in called]
        assert not unchecked, f"{solution.name} has no check cell for {unchecked}"


def _grade(tmp_path: Path, lab: str, notebooks: dict[str, nbformat.NotebookNode],
           backend: str = "local") -> dict[str, grading.SubmissionResult]:
    folder = tmp_path / "submissions"
    folder.mkdir()
    for student, nb in notebooks.items():
        nbformat.write(nb, folder / f"{student}.ipynb")
    (tmp_path / "scratch").mkdir()
    results = grading.grade([folder], lab, backend=backend, keep_going=True,
                            scratch=tmp_path / "scratch", **LIMITS)
    return {r.student: r for r in results}


def _explain(result: grading.SubmissionResult) -> str:
    return "\n".join([f"{result.student}: {result.status} {result.reason}",
                      *[e.line for e in result.exercises]])


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_the_solution_passes_and_the_untouched_lab_fails_every_check(
        solution: Path, tmp_path: Path) -> None:
    lab = solution.name[:2]
    results = _grade(tmp_path, lab, {"solution": nbformat.read(solution, as_version=4),
                                     "untouched": learner_copy(solution)})
    right, untouched = results["solution"], results["untouched"]
    assert right.status == "graded" and right.total == right.max, _explain(right)
    assert [e.id for e in checks.exercises(lab)] == [e.exercise for e in right.exercises]
    assert not [e.exercise for e in untouched.exercises if e.passed], _explain(untouched)


@pytest.mark.slow
@pytest.mark.realdapr
@pytest.mark.parametrize("solution", SOLUTIONS[:1], ids=IDS[:1])
def test_the_solution_passes_every_check_on_real_dapr(solution: Path, tmp_path: Path) -> None:
    """Grading on real Dapr, with a real lab. (Every solution passes every check on real Dapr
    under nbval, where a failed check raises: scripts/test-notebooks runs solutions/ on both
    backends, so grading each again here would add minutes and prove nothing new.)"""
    results = _grade(tmp_path, solution.name[:2],
                     {"solution": nbformat.read(solution, as_version=4)}, backend="selfhosted")
    right = results["solution"]
    assert right.status == "graded" and right.total == right.max, _explain(right)
