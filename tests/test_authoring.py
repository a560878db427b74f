"""Generated parts of the workbook: learner copies (labs/) and the lesson table."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jobslab.authoring import index, labs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "solutions").glob("*.ipynb"))


def _solution(path: Path) -> None:
    nb = new_notebook(cells=[
        new_markdown_cell("# Lab\n\n<!-- BEGIN ANSWER -->The answer is FRI.<!-- END ANSWER -->"),
        new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n"),
        new_code_cell("x = 1"),
    ])
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[2].execution_count = 3
    nbformat.write(nb, path)


def test_learner_copy_strips_answers_and_outputs(tmp_path) -> None:
    (tmp_path / "solutions").mkdir()
    _solution(tmp_path / "solutions" / "01-lab.ipynb")
    assert labs.generate(tmp_path / "solutions", tmp_path / "labs") == ["01-lab.ipynb"]
    lab = nbformat.read(tmp_path / "labs" / "01-lab.ipynb", as_version=4)
    assert "FRI" not in lab.cells[0].source
    assert lab.cells[1].source == ("def f():\n    # YOUR CODE HERE\n    # Hint: "
                                   f"{labs.DEFAULT_HINT}\n    raise NotImplementedError()")
    assert lab.cells[2].outputs == [] and lab.cells[2].execution_count is None


def test_the_stub_carries_the_solutions_hint() -> None:
    """``### BEGIN SOLUTION hint: …`` puts that hint in the learner's stub; the answer goes."""
    cell = new_code_cell("x = 1\n### BEGIN SOLUTION hint: POST to your own sidecar\n"
                         "r = httpx.post(url)\n### END SOLUTION\nprint(x)")
    stub = labs.strip_cell(cell).source
    assert stub == ("x = 1\n# YOUR CODE HERE\n# Hint: POST to your own sidecar\n"
                    "raise NotImplementedError()\nprint(x)")


def test_check_reports_stale_and_orphaned_labs(tmp_path) -> None:
    sol, out = tmp_path / "solutions", tmp_path / "labs"
    sol.mkdir()
    _solution(sol / "01-lab.ipynb")
    assert labs.generate(sol, out, check=True) == ["01-lab.ipynb"]
    labs.generate(sol, out)
    assert labs.generate(sol, out, check=True) == []
    (out / "99-old.ipynb").write_text("{}", encoding="utf-8")
    assert labs.generate(sol, out, check=True) == ["99-old.ipynb"]


def test_unbalanced_markers_are_an_error(tmp_path) -> None:
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n")])
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(ValueError, match="unbalanced"):
        labs.learner_copy(tmp_path / "bad.ipynb")


@pytest.mark.slow  # runs scripts/make-labs in a process of its own
def test_committed_labs_are_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make-labs"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_committed_lesson_table_is_current() -> None:
    assert index.update(ROOT / "notebooks", check=True), "run scripts/make-index"


def test_lesson_table_picks_up_a_new_lesson(tmp_path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    (nbs / "00-index.ipynb").write_bytes((ROOT / "notebooks" / "00-index.ipynb").read_bytes())
    nbformat.write(new_notebook(cells=[new_markdown_cell(
        "# Scheduling a job\n\n**You will** schedule one.")]), nbs / "01-first-job.ipynb")
    assert not index.update(nbs, check=True)
    index.update(nbs)
    assert "| 01 | [Scheduling a job](01-first-job.ipynb) | schedule one. |" in index.render(nbs)
    assert index.update(nbs, check=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_follow_the_lesson_skeleton(path: Path) -> None:
    """Title, objectives, prerequisites, numbered steps, understanding, cleanup, next."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for heading in ("Learning objectives", "Prerequisites", "Check your understanding",
                    "## Cleanup", "## Next"):
        assert heading in text, f"{path.name} lacks '{heading}'"
    assert re.search(r"^## 1\. ", text, re.M), f"{path.name} has no numbered steps"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_are_committed_executed_clean_and_machine_neutral(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{path.name}: unexecuted cells"
    outputs = json.dumps([c.outputs for c in code])
    assert '"output_type": "error"' not in outputs, f"{path.name}: committed with an error"
    assert not re.search(r"/(work|tmp|root|home|Users)/", outputs), f"{path.name}: machine path"
